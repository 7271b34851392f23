"""The traveller web portal: server-rendered pages (Jinja2), zh-CN and en, mobile-first."""
