"""Support tickets: a traveller's questions and staff answers, by portal, API and e-mail."""
