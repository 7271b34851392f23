"""The USSD menu over the gateway's HTTP callback (``POST /api/v1/ussd``).

``navigation``  where a session stands, replayed from the inputs the gateway resends
``menu``        the menu's shape and screens for one caller
``callback``    the FastAPI route and ``answer()``, the reply to one gateway request
"""
