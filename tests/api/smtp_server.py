#!/usr/bin/env python3
"""A real SMTP server on loopback for coffre's tests and mail benchmark
(aiosmtpd, from PyPI). One JSON object per line on stdout:

  {"event": "listening", "port": N}
  {"event": "auth", "mechanism": "PLAIN", "success": true}
  {"event": "message", "mail_from": ..., "rcpt_tos": [...], "tls": bool,
   "t": unix time, "data": base64 of the raw message,
   "headers": [[name, decoded value], ...], "body": decoded text,
   "defects": [...]}     (parsed by Python's email package, not by coffre)

Recipients steer the answers: a local part starting with "reject" gets
550 on RCPT, "tempfail" gets 451. Options:

  --port N                 listen on N (default: a free port)
  --tls-cert F --tls-key F a certificate for STARTTLS or implicit TLS
  --implicit-tls           TLS from the first byte (smtps)
  --require-starttls       refuse mail until STARTTLS
  --user U --password P    require AUTH with these
  --brief                  message events without data, headers or body
"""

import argparse
import asyncio
import base64
import email
import email.policy
import json
import logging
import ssl
import sys
import time
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def emit(event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


class Handler:
    def __init__(self, brief):
        self.brief = brief

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("reject"):
            return "550 5.1.1 Mailbox unavailable"
        if local.startswith("tempfail"):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content or envelope.content
        event = {
            "event": "message",
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            # After STARTTLS, or TLS from the first byte (smtps).
            "tls": session.ssl is not None
            or server.transport.get_extra_info("ssl_object") is not None,
            "t": time.time(),
        }
        if not self.brief:
            msg = email.message_from_bytes(data, policy=email.policy.default)
            defects = [repr(d) for d in msg.defects]
            headers = []
            for name, value in msg.items():
                defects += [repr(d) for d in getattr(value, "defects", ())]
                headers.append([name, str(value)])
            event.update(
                data=base64.b64encode(data).decode("ascii"),
                headers=headers,
                body=msg.get_content(),
                defects=defects,
            )
        emit(event)
        return "250 Message accepted for delivery"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        emit({"event": "auth", "mechanism": mechanism, "success": ok})
        if ok:
            return AuthResult(success=True)
        # A careless server repeating what it was sent: coffre must not keep it.
        return AuthResult(
            success=False,
            handled=False,
            message="535 5.7.8 Authentication failed for %s / %s"
            % (auth_data.login.decode(errors="replace"), auth_data.password.decode(errors="replace")),
        )

    return check


async def main():
    # Sessions a test cuts short (an untrusted certificate) are expected, and
    # so is AUTH over implicit TLS: keep the test output quiet.
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    warnings.simplefilter("ignore")
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--implicit-tls", action="store_true")
    p.add_argument("--require-starttls", action="store_true")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--brief", action="store_true")
    args = p.parse_args()

    context = None
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
    handler = Handler(args.brief)
    options = {}
    if args.user:
        options.update(
            authenticator=authenticator(args.user, args.password),
            auth_required=True,
            # aiosmtpd cannot tell it is behind implicit TLS: it offers AUTH
            # only after STARTTLS unless told otherwise.
            auth_require_tls=not args.implicit_tls,
        )

    def factory():
        return SMTP(
            handler,
            hostname="smtp.test",
            tls_context=None if args.implicit_tls else context,
            require_starttls=args.require_starttls,
            **options,
        )

    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        factory,
        host="127.0.0.1",
        port=args.port,
        ssl=context if args.implicit_tls else None,
    )
    emit({"event": "listening", "port": server.sockets[0].getsockname()[1]})
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
