"""What the offline channels (USSD menu, IVR hotline, SMS keywords) share.

``texts``    every channel-level text in en and zh-CN, and the user text of each error code
``summary``  the line summary (balance, data left, expiry) as data and as one short text
``actions``  who is calling, and the actions: buy a plan, top up with a saved card, redeem a
             voucher, switch auto-renew or language — each a call into the area services
``once``     replaying a repeated gateway request instead of doing its work twice
``gateway``  the shared-secret and address check for operator-side HTTP callbacks
"""
