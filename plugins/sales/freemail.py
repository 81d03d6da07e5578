"""Free-mail and ISP domains: an address there says nothing about the person's company.

A lead from ``jane@gmail.com`` is never attached to an organization "gmail.com". Installations
add their own (a local ISP, a university) with ``free_mail_domains`` in ``plugins.toml``.
"""

from __future__ import annotations

FREE_MAIL_DOMAINS: frozenset[str] = frozenset(
    """
    gmail.com googlemail.com google.com
    outlook.com outlook.fr outlook.de outlook.es outlook.it hotmail.com hotmail.fr hotmail.de
    hotmail.es hotmail.it hotmail.co.uk live.com live.fr live.de live.co.uk live.nl msn.com
    passport.com windowslive.com
    yahoo.com yahoo.fr yahoo.de yahoo.es yahoo.it yahoo.co.uk yahoo.co.jp yahoo.com.br
    yahoo.ca yahoo.com.au yahoo.in ymail.com rocketmail.com aol.com aol.de aim.com
    icloud.com me.com mac.com
    proton.me protonmail.com protonmail.ch pm.me tutanota.com tutanota.de tuta.io
    zoho.com zohomail.com fastmail.com fastmail.fm hushmail.com mailbox.org posteo.de
    posteo.net runbox.com disroot.org riseup.net
    gmx.com gmx.de gmx.net gmx.at gmx.ch gmx.fr web.de freenet.de t-online.de arcor.de
    mail.com email.com usa.com yandex.com yandex.ru ya.ru mail.ru inbox.ru list.ru bk.ru
    rambler.ru qq.com 163.com 126.com yeah.net sina.com sohu.com aliyun.com foxmail.com
    naver.com daum.net hanmail.net rediffmail.com
    orange.fr wanadoo.fr free.fr sfr.fr neuf.fr laposte.net bbox.fr club-internet.fr
    libero.it virgilio.it tiscali.it alice.it tin.it
    telefonica.net terra.es
    btinternet.com sky.com virginmedia.com ntlworld.com talktalk.net blueyonder.co.uk
    comcast.net verizon.net att.net sbcglobal.net bellsouth.net charter.net cox.net
    earthlink.net optonline.net frontier.com windstream.net juno.com netzero.net
    shaw.ca rogers.com sympatico.ca videotron.ca telus.net
    bigpond.com bigpond.net.au optusnet.com.au
    ziggo.nl kpnmail.nl planet.nl home.nl xs4all.nl telenet.be skynet.be
    bluewin.ch sunrise.ch
    seznam.cz centrum.cz wp.pl onet.pl o2.pl interia.pl
    uol.com.br bol.com.br terra.com.br ig.com.br
    """.split()
)


def domain_of(email: str | None) -> str | None:
    """``Jane@Initech.io`` → ``initech.io``."""
    if not email or "@" not in email:
        return None
    return email.rsplit("@", 1)[1].strip().lower().rstrip(".") or None


def is_free_mail(domain: str | None, extra: list[str] | tuple[str, ...] = ()) -> bool:
    """True for a free-mail or ISP domain (or a subdomain of one)."""
    if not domain:
        return True
    domain = domain.lower()
    known = FREE_MAIL_DOMAINS.union(d.strip().lower() for d in extra)
    parts = domain.split(".")
    return any(".".join(parts[i:]) in known for i in range(len(parts) - 1))
