"""The help centre: articles for travellers in English and Chinese, shipped with the package
(``articles/<lang>/<slug>.md``) and overridden by staff edits stored in the database."""
