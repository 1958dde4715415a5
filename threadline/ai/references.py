"""Order, quote and invoice references in customer text, told from the other numbers
support mail is full of (postcodes, phones, VAT ids, part numbers, dates, amounts,
tracking numbers).

Two ways a number becomes a reference: it has the business's own format (`PED-2024-00318`,
`FAC-2024/0388`: the prefix says what it is; `ai.reference_patterns` replaces a kind's
defaults), or it directly follows a word that names it ("pedido nº 45821", "invoice #2231",
"facturas 1187 y 1188"). Numbers whose shape or neighbours say they are something else are
masked first and never become references.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from core.analysis import Reference, ReferenceKind, compact, fold

ORDER, QUOTE, INVOICE = ReferenceKind.ORDER, ReferenceKind.QUOTE, ReferenceKind.INVOICE
_SEP = r"[-_/.]?"
_TAIL = r"\d{3,}(?:[-/.]\d+)*(?:[-/][A-Z]{1,3})?"
DEFAULT_PATTERNS: dict[ReferenceKind, tuple[str, ...]] = {
    ORDER: (rf"(?<![\w-])(?:PED|PO|SO|ORD|OC|OV|OP){_SEP}{_TAIL}(?![\w-])",),
    QUOTE: (rf"(?<![\w-])(?:PRE|PRES|PRESU|COT|QT|QUO|Q|OF|OFE|OFR){_SEP}{_TAIL}(?![\w-])",),
    INVOICE: (rf"(?<![\w-])(?:FAC|FACT|FRA|FA|FV|INV|F\d{{2}}){_SEP}{_TAIL}(?![\w-])",),
}

# Words that name the kind of the number that follows them (folded: no accents).
_CUES: dict[str, ReferenceKind] = {
    **dict.fromkeys(("pedido", "pedidos", "ped", "order", "orders", "orden", "ordenes",
                     "po", "encargo", "compra", "albaran", "so"), ORDER),
    **dict.fromkeys(("presupuesto", "presupuestos", "presu", "pres", "cotizacion",
                     "cotizaciones", "quote", "quotes", "quotation", "quotations",
                     "estimate", "oferta", "proforma"), QUOTE),
    **dict.fromkeys(("factura", "facturas", "fra", "fact", "invoice", "invoices", "bill",
                     "abono", "abonos", "rectificativa"), INVOICE),
}
# Words allowed between the cue and the number ("pedido nº", "order number is", "PO ref").
_FILLERS = frozenset((
    "no", "n", "nº", "num", "numero", "nro", "nr", "number", "numbers", "ref", "referencia",
    "reference", "id", "es", "el", "la", "is", "was", "the", "my", "our", "mi", "nuestro",
    "nuestra", "su", "your", "vuestro", "vuestra", "con", "with", "of", "code", "codigo",
    "tu", "n.º", "o", "numer", "nun", "number:", "abierto", "nuevo", "new",
    "original", "pendiente", "anterior", "previous", "rectificativa", "purchase", "de",
))
_VERB_CUES = frozenset(("order", "orders", "quote", "bill", "compra"))
_SUBJECTS = frozenset(("in", "i", "we", "ill", "ll", "d", "i'll", "we'll", "will", "to",
                       "would", "can",
                       "could", "you", "they", "should", "may", "might", "gonna", "wanna",
                       "also", "then", "please", "pls", "plz"))
_CONJUNCTIONS = frozenset(("y", "e", "and", "&", "o", "or", "u"))
_ARTICLES = frozenset(("el", "la", "los", "las", "del", "the", "no", "nº", "n", "num"))
_QUANTITY = frozenset((
    "unidades", "unidad", "uds", "ud", "u", "units", "unit", "pcs", "pieces", "piezas",
    "cajas", "boxes", "kg", "kgs", "m", "mm", "cm", "metros", "meters", "x", "rodamientos",
    "bisagras", "tornillos", "items", "articulos", "euros", "eur", "usd", "dolares",
    "pounds", "libras",
))
# Spans that are something else: each regex masks what it matches (its group 1 if any).
_DECOYS = tuple(re.compile(p, re.IGNORECASE) for p in (
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",  # e-mail addresses
    r"(?:https?://|www\.)\S+",  # links
    r"(?:\+|\b00)\d{1,3}[\s.-]?(?:\(?\d{1,4}\)?[\s.-]?){1,5}\d{2,4}",  # international phones
    r"\(\d{3}\)\s?\d{3}[\s.-]\d{4}",  # (555) 010-2368
    r"\b(?:tel|tlf|tfno|telf|telefono|tel[eé]fono|movil|m[oó]vil|phone|mobile|cell|fax|"
    r"whatsapp|llamar|llamame|call me|call us|ll[aá]mame)\W{0,3}((?:\d[\s.-]?){6,14}\d)",
    r"\b[6789]\d{2}[\s.]?\d{3}[\s.]?\d{3}\b",  # Spanish mobile and land lines
    r"\b[6789]\d[\s.]\d{3}[\s.]\d{2}[\s.]\d{2}\b",  # 91 123 45 67
    r"\b\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})\b",  # dates
    r"\b\d{4}-\d{2}-\d{2}\b",
    r"[$€£]\s?\d[\d.,]*",  # amounts
    r"\b\d[\d.,]*\s?(?:€|\$|£|eur\b|euros\b|usd\b|gbp\b|dolares\b|d[oó]lares\b|pounds\b)",
    r"\b(?:ES)?[A-HJNP-SUVW]-?\d{7}[0-9A-J]\b",  # Spanish CIF
    r"\b\d{8}-?[A-Z]\b",  # NIF
    r"\b[XYZ]\d{7}[A-Z]\b",  # NIE
    r"\b(?:AT|BE|BG|CY|CZ|DE|DK|EE|EL|FI|FR|GB|HR|HU|IE|IT|LT|LU|LV|MT|NL|PL|PT|RO|SE|SI"
    r"|SK|XI)U?\d{8,12}\b",  # EU VAT numbers
    r"\b(?:cif|nif|nie|vat|iva|dni|tax id)\W{0,4}([A-Z0-9-]{6,15})",
    r"\b[A-Z]{2}\d{2}(?:\s?[0-9A-Z]{4}){3,7}(?:\s?[0-9A-Z]{1,3})?\b",  # IBAN
    r"\b1Z[0-9A-Z]{16}\b",  # UPS
    r"\b\d{12,}\b",  # long digit runs: tracking and account numbers
    r"\b(?:tracking|seguimiento|localizador|n[uú]mero de env[ií]o|env[ií]o n\W?|guia|awb|"
    r"expedici[oó]n|bulto|seur|mrw|dhl|ups|gls|correos|nacex|fedex|tnt|dpd|usps|"
    r"royal mail)\W{0,4}(?:(?:no|n|nº|number|numero|n[uú]mero|is|es)\W{1,3})?"
    r"([A-Z0-9][A-Z0-9-]{5,})",
    r"\b(?:c\.?p\.?|c[oó]digo postal|postal code|postcode|zip(?: code)?)\W{0,3}(\d{4,5})",
    r"\b[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2}\b",  # UK postcodes
    r"\b(?:calle|c/|avda?\.?|avenida|plaza|pza\.?|paseo|street|st\.|road|rd\.|avenue|"
    r"pol[ií]gono|nave|km)\s+[^\n,.;:!?]{0,40}?(\d{1,4}[A-Za-z]?)\b",  # street numbers
    r"\b(?:ref\.?|referencia|art\.?|art[ií]culo|part(?: no\.?| number)?|pieza|sku|modelo|"
    r"model|c[oó]digo de art[ií]culo|item(?: no\.?)?|oem|serie|serial(?: no\.?)?|s/n|"
    r"ticket|caso|case|incidencia|incident|expediente|cuenta|account)\W{0,3}"
    r"(?:(?:no|n|nº|number|numero|n[uú]mero|#)\W{0,2})?([A-Z0-9][A-Z0-9./-]{2,})",
    r"\b(?:skf|fag|ina|nsk|ntn|timken|koyo|bosch)\s+([A-Z0-9][A-Z0-9./-]+)",
))
_DECOYS += (  # case matters here: "28045 Madrid", not "45821 no ha llegado"
    re.compile(r"(?:^|[,(]|\s-)\s*(\d{5})(?=\s+(?:[A-ZÁÉÍÓÚÑ][a-záéíóúñ]+|[A-Z]{3,})\b)",
               re.MULTILINE),
)
_TOKEN = re.compile(r"[^\W_](?:[\w\-/.#º°]*[^\W_])?")
_YEAR = re.compile(r"(?:19|20)\d{2}")


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    folded: str
    start: int
    end: int


def compile_patterns(
    patterns: Mapping[ReferenceKind, Sequence[str]] | None,
) -> dict[ReferenceKind, tuple[re.Pattern[str], ...]]:
    """The business's own formats replace a kind's defaults; the other kinds keep theirs."""
    chosen = {**DEFAULT_PATTERNS, **(patterns or {})}
    return {kind: tuple(re.compile(p, re.IGNORECASE) for p in chosen[kind])
            for kind in (ORDER, QUOTE, INVOICE)}


def _decoy_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for rx in _DECOYS:
        for m in rx.finditer(text):
            g = 1 if rx.groups and m.group(1) is not None else 0
            spans.append(m.span(g))
    return spans


def _masked(start: int, end: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(s < end and start < e for s, e in spans)


def _inside(start: int, end: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(s <= start and end <= e for s, e in spans)


def _numberlike(token: _Token) -> bool:
    digits = sum(c.isdigit() for c in token.text)
    return digits >= 3 and len(token.text) <= 30 and not _YEAR.fullmatch(token.text)


def extract(text: str, patterns: Mapping[ReferenceKind, Sequence[re.Pattern[str]]]
            ) -> list[Reference]:
    """The references in `text`, each once, in the order written."""
    decoys = _decoy_spans(text)
    found: list[tuple[int, Reference]] = []
    taken: list[tuple[int, int]] = []
    for kind, rxs in patterns.items():
        for rx in rxs:
            for m in rx.finditer(text):
                if not _masked(*m.span(), taken) and not _inside(*m.span(), decoys):
                    taken.append(m.span())
                    found.append((m.start(), Reference(kind, m.group(0))))
    tokens = [_Token(m.group(0), fold(m.group(0)), *m.span()) for m in _TOKEN.finditer(text)]
    for i, tok in enumerate(tokens):
        kind = _CUES.get(tok.folded)
        if kind is None or (tok.folded == "so" and not tok.text.isupper()):
            continue
        # "in order to", "I'll order 3000": the verb; its number is a quantity, unless
        # it looks like no quantity does ("add it to order 78880").
        verb = tok.folded in _VERB_CUES and _prev(tokens, i) in _SUBJECTS
        for _, value in _cued(tokens, i + 1, text, decoys):
            if verb and value.text.isdigit() and len(value.text) < 5:
                break
            if not _masked(value.start, value.end, taken):
                taken.append((value.start, value.end))
                found.append((value.start, Reference(kind, value.text)))
    found.sort(key=lambda f: f[0])
    out: list[Reference] = []
    seen: set[str] = set()
    for _, ref in found:
        key = compact(ref.value)
        if key not in seen:
            seen.add(key)
            out.append(ref)
    return out


def _prev(tokens: Sequence[_Token], i: int) -> str:
    return tokens[i - 1].folded if i > 0 else ""


def _cued(tokens: Sequence[_Token], j: int, text: str, decoys) -> list[tuple[int, _Token]]:
    """The numbers a cue word names: the first after its fillers, then any joined to it by
    "y", "and" or a comma ("facturas 1187, 1188 y 1190")."""
    skipped = 0
    while j < len(tokens) and tokens[j].folded in _FILLERS and skipped < 4:
        if _numberlike(tokens[j]):
            break
        j, skipped = j + 1, skipped + 1
    out: list[tuple[int, _Token]] = []
    while j < len(tokens) and len(out) < 10:
        tok = tokens[j]
        if not _is_reference(tokens, j, text, decoys):
            break
        out.append((j, tok))
        gap = text[tok.end:tokens[j + 1].start] if j + 1 < len(tokens) else ""
        if j + 2 < len(tokens) and tokens[j + 1].folded in _CONJUNCTIONS \
                and not gap.strip():
            j += 2
            if tokens[j].folded in _ARTICLES and j + 1 < len(tokens):
                j += 1  # "el pedido 45821 y el 45823"
        elif gap.strip() in (",", "/", "&", ";") and "\n" not in gap:
            j += 1
        else:
            break
    return out


def _is_reference(tokens: Sequence[_Token], j: int, text: str, decoys) -> bool:
    tok = tokens[j]
    if not _numberlike(tok) or _masked(tok.start, tok.end, decoys):
        return False
    after = tokens[j + 1].folded if j + 1 < len(tokens) else ""
    gap = text[tok.end:tokens[j + 1].start] if j + 1 < len(tokens) else ""
    if after in _QUANTITY and not gap.strip(" "):
        return False  # "order 500 units"
    before = text[max(0, tok.start - 2):tok.start]
    return not re.search(r"[$€£+]\s?$", before)
