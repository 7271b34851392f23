"""The operator's console under /admin: server-rendered pages for staff (admin, support,
finance), built on the portal's web layer (sessions, CSRF, languages, HTML refusals)."""
