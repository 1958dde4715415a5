"""HTML mail -> readable text, and quoted history removed from HTML. Pure functions."""

from __future__ import annotations

import re

import html2text
from bs4 import BeautifulSoup, Comment

# Containers mail clients put the quoted conversation in. Everything inside is history.
_QUOTE_SELECTORS = (
    "div.gmail_quote", "blockquote.gmail_quote", "div.gmail_extra",
    "blockquote[type=cite]",                      # Apple Mail, Thunderbird
    "div.moz-cite-prefix",                        # Thunderbird "On ... wrote:" line
    "div#appendonsend",                           # Outlook (new) marks where history starts
    "div#divRplyFwdMsg",                          # Outlook web reply header
    "div.OutlookMessageHeader",
    "div.yahoo_quoted", "div.zmail_extra", "div.protonmail_quote",
)
# Outlook desktop separates history with a border-top div: everything after it is quoted.
_OUTLOOK_DIVIDER = re.compile(r"border-top:\s*solid\s+#?[0-9a-f]{3,6}\s+1\.0pt", re.I)
_SIGNATURE_SELECTORS = ("div.gmail_signature", "div.moz-signature", "div#Signature",
                        "div[data-smartmail=gmail_signature]")
_BLANK_LINES = re.compile(r"\n{3,}")


def _soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def _drop_outlook_history(soup: BeautifulSoup) -> bool:
    for div in soup.find_all("div", style=_OUTLOOK_DIVIDER):
        # The divider's parent wrapper (div.WordSection1 ...) holds the history after it.
        node = div
        for sibling in list(node.find_all_next()):
            sibling.extract()
        div.extract()
        return True
    hr = soup.find("hr", id="stopSpelling") or soup.find("div", id="divRplyFwdMsg")
    if hr is not None:
        for sibling in list(hr.find_all_next()):
            sibling.extract()
        hr.extract()
        return True
    return False


def strip_quoted_html(html: str) -> tuple[str, bool]:
    """(HTML without quote containers and signatures, whether anything was removed)."""
    soup = _soup(html)
    removed = False
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    for selector in (*_QUOTE_SELECTORS, *_SIGNATURE_SELECTORS):
        for node in soup.select(selector):
            node.decompose()
            removed = True
    removed = _drop_outlook_history(soup) or removed
    return str(soup), removed


_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_LINK = re.compile(r"\[([^\]\n]*)\]\((https?://[^)\s]+|mailto:[^)\s]+)\)")
_BARE_LINK = re.compile(r"<((?:https?://|mailto:)[^>\s]+)>")
_BULLET = re.compile(r"^((?:  )*)  [*+-] ", re.M)
_NUMBERED = re.compile(r"^((?:  )*)  (\d+)\. ", re.M)
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
_SPACE_BEFORE = re.compile(r"(?<=\S)[ \t]+([,.](?=\s|$))", re.M)  # not !?;: (French)
_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!>])")


def _readable(markdown: str) -> str:
    """html2text's Markdown as text people read in Slack and in the CLI: *bold* (Slack's
    bold), _italic_, • bullets, and links as "text (url)", so the address a link really goes
    to is always visible (a label can claim anything)."""
    text = _BOLD.sub(r"*\1*", markdown)
    text = _HEADING.sub(lambda m: f"*{m.group(1).strip('*')}*", text)  # Slack has no headings

    def link(m: re.Match) -> str:
        label, url = m.group(1).strip(), m.group(2)
        shown = url.removeprefix("mailto:")
        return shown if not label or label in (url, shown) else f"{label} ({shown})"

    text = _LINK.sub(link, text)
    text = _BARE_LINK.sub(lambda m: m.group(1).removeprefix("mailto:"), text)
    text = _BULLET.sub(lambda m: f"{m.group(1)}• ", text)
    text = _NUMBERED.sub(lambda m: f"{m.group(1)}{m.group(2)}. ", text)
    text = _ESCAPED.sub(r"\1", text)
    # Inline tags on their own lines (Outlook's spans) leave "Hola , gracias ." behind.
    return _SPACE_BEFORE.sub(r"\1", text)


def html_to_text(html: str) -> str:
    """Readable text for the Slack mirror (see `_readable`)."""
    converter = html2text.HTML2Text()
    converter.body_width = 0  # never hard-wrap: Slack wraps
    converter.ignore_images = True
    converter.ignore_emphasis = False
    converter.unicode_snob = True  # keep accents instead of ASCII look-alikes
    converter.single_line_break = False
    soup = _soup(html)
    for node in soup(["style", "script", "head", "title"]):
        node.decompose()
    text = _readable(converter.handle(str(soup)))
    text = "\n".join(line.rstrip() for line in text.splitlines())
    return _BLANK_LINES.sub("\n\n", text).strip()
