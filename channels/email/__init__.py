"""The email channel: customers open and answer tickets by email (``docs/email.md``).

Inbound: an aiosmtpd server (:mod:`.server`) stores each raw message through
``email.receive`` before answering ``250``; the ``email.parse`` job parses it (:mod:`.parse`)
and hands it to the handler of its recipient address (``kith_inbound_email`` hook,
:mod:`.routing`); ``support@`` opens or continues a ticket (:mod:`.support`).
Outbound: public ticket replies, CSAT requests and ``email.send`` become rows sent by the
``email.deliver`` job with retries (:mod:`.outbound`).
"""
