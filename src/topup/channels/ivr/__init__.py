"""The IVR hotline: a FastAGI server for Asterisk with a zh-CN / en voice menu.

``agi``      the FastAGI wire protocol (environment, commands, ``200 result=`` answers)
``prompts``  the prompt files to record, by name and language
``session``  one call's voice menu: balance, voucher by DTMF, saved-card top-up, language
``server``   the asyncio server, one coroutine per call (``topup ivr`` runs it)
"""
