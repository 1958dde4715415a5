"""Suggested tags: a workspace tag whose name or one of its `keywords` is written in the
message (whole words, folded, plurals and the usual Spanish and English endings too), so
"devoluciones" suggests a tag with the keyword "devolución" and "invoices" one named
"invoice". Only the workspace's tags are ever named."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from core.analysis import TagVocabulary, fold

_ENDINGS = r"(?:s|es|ed|ing|ado|ada|ados|adas|ion|iones)?"
NEVER_SUGGESTED = frozenset(("urgent",))  # urgency has its own rules (see urgency.py)


@lru_cache(maxsize=256)
def _pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    alternatives = []
    for word in words:
        w = fold(word).strip().replace("-", " ").replace("_", " ")
        if not w:
            continue
        stem = re.escape(w)
        if len(w) >= 5 and w[-1] in "aeo" and " " not in w:
            stem = re.escape(w[:-1]) + "[aeo]"  # pedido / pedida, defectuoso / defectuosa
        elif w.endswith("s") and len(w) > 4:
            stem = re.escape(w[:-1])  # "returns" also for "return"
        alternatives.append(stem.replace(r"\ ", r"[\s_-]+"))
    if not alternatives:
        return None
    return re.compile(r"\b(?:" + "|".join(alternatives) + ")" + _ENDINGS + r"\b")


# Common support topics, known in Spanish and English. A workspace tag takes a topic's
# vocabulary when its name or one of its keywords names the topic ("shipping", "envío"),
# so a tag works without a long keyword list. Folded text; stems end where words vary.
TOPICS: dict[str, tuple[frozenset[str], re.Pattern[str]]] = {
    name: (frozenset(ids), re.compile(vocabulary)) for name, ids, vocabulary in (
        ("order", ("order", "orders", "pedido", "pedidos", "compra", "compras"),
         r"\b(?:ped|pedid\w*|order\w*|po|compra\w*|encarg\w*|añadir al|add to)\b"),
        ("shipping", ("shipping", "envio", "envios", "delivery", "entrega", "entregas",
                      "logistica", "transporte", "shipment", "shipments"),
         r"\b(?:tracking|seguimiento|transportista\w*|agencia de transporte|repartidor\w*|"
         r"mensajer\w*|courier|carrier|portes|no (?:me |nos )?ha(?:n)? llegado|sin llegar|"
         r"no llega\w*|cuando llega\w*|(?:ha|han|ya) salido|ya salio|salio ya|retras\w*|"
         r"delay\w*|(?:not|never|hasn'?t|haven'?t|has not|have not) (?:yet )?(?:arrived|"
         r"been delivered|been shipped|received)|where is (?:my|our|the) (?:order|delivery|"
         r"parcel|package|stuff)|lead time|plazo de entrega|direccion de entrega|"
         r"delivery address|envios?|delivery|deliveries|shipment\w*|dispatch\w*|shipped|"
         r"parcel\w*|paquete\w*|bulto\w*)\b"),
        ("returns", ("returns", "return", "devolucion", "devoluciones", "rma"),
         r"\b(?:devol\w*|devuelv\w*|return\w*|rma|exchange|sustitu\w*|replacement)\b"),
        ("billing", ("billing", "invoice", "invoices", "factura", "facturas", "facturacion",
                     "cobro", "cobros", "pagos", "payments"),
         r"\b(?:factur\w*|fra|invoic\w*|cobr\w*|cargos?|charged|charges?|pago\w*|"
         r"pagad\w*|payments?|paid|iva|vat|abono|credit note|statement|extracto|saldo|"
         r"transferencia|bank transfer|reembols\w*|refund\w*)\b"),
        ("quote", ("quote", "quotes", "presupuesto", "presupuestos", "cotizacion",
                   "quotation", "pricing", "precio"),
         r"\b(?:presupuest\w*|presu|cotiza\w*|quotes?|quotation\w*|oferta|estimate|precio\w*|"
         r"price\w*|pricing|tarifa\w*|cuanto (?:sale|cuesta|vale)|how much|"
         r"descuento|discount|volume pricing)\b"),
        ("complaint", ("complaint", "complaints", "queja", "quejas", "reclamacion",
                       "reclamaciones", "incidencia", "incidencias"),
         r"\b(?:quej\w*|reclam\w*|complain\w*|inaceptable|unacceptable|desastre|"
         r"vaya servicio|verguenza|lamentable|impresentable|no es la primera vez|"
         r"not the first time|again|otra vez|peor|worse|worst|poor|mal servicio|"
         r"disappoint\w*|decepcion\w*|harto|fed up|rechaz\w*|rejected)\b"),
    )
}
# A topic a frustrated customer brings up is usually a complaint about it.
FRUSTRATION_TOPIC = "complaint"


def _topics_of(tag: TagVocabulary) -> list[str]:
    words = {fold(tag.name), *(fold(k) for k in tag.keywords)}
    return [name for name, (ids, _) in TOPICS.items() if words & ids]


def suggest(text: str, tags: Sequence[TagVocabulary], *, frustrated: bool = False,
            kinds: Sequence[str] = (), literal: bool = False) -> list[str]:
    """`kinds`: the reference kinds found ("order", "quote", "invoice"): a reference is a
    topic of its own ("pedido 45821" is about an order). `literal`: only tags whose name or
    keywords are written (for messages that tried to instruct the triage)."""
    folded = fold(text)
    kind_topics = {"order": "order", "quote": "quote", "invoice": "billing"}
    found = {kind_topics[k] for k in kinds if k in kind_topics}
    out = []
    for tag in tags:
        if fold(tag.name) in NEVER_SUGGESTED:
            continue
        rx = _pattern((tag.name, *tag.keywords))
        topics = [] if literal else _topics_of(tag)
        if (rx is not None and rx.search(folded)) \
                or any(TOPICS[t][1].search(folded) for t in topics if t != FRUSTRATION_TOPIC) \
                or (FRUSTRATION_TOPIC in topics and (frustrated and TOPICS[FRUSTRATION_TOPIC][1]
                                                     .search(folded) or _strong_complaint(folded))):
            out.append(tag.name)
    if not out:  # "ped 45821?": the reference says what it is about
        out = [t.name for t in tags if found.intersection(_topics_of(t))
               and fold(t.name) not in NEVER_SUGGESTED]
    return out


def _strong_complaint(folded: str) -> bool:
    return bool(re.search(r"\b(?:quej\w*|reclamacion\w*|complaint\w*|inaceptable|"
                          r"unacceptable|desastre|vaya servicio|verguenza)\b", folded))
