"""Receipts: one numbered receipt per paid order, printable as HTML and downloadable as PDF.

``service`` issues and reads receipts (numbers ``R<year>-<6 digits>``, gap-free per year);
``view`` turns a receipt into labelled rows in en or zh-CN; ``html`` and ``pdf`` render them.
"""
