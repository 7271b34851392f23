"""The agent's point of sale under /pos: server-rendered pages for the staff of a retail agent
(a kiosk, a shop, a post office counter) to top up a line from the float, sell a scratch card,
print a receipt and read the daily statement. Built on the portal's web layer (sessions, CSRF,
languages, HTML refusals); it calls the same agents services as the POS API."""
