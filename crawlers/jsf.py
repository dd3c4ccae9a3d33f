"""JSF / PrimeFaces form handling for the Breach Portal: pure functions over parsel Selectors and bytes.

A JSF page is one form whose hidden `javax.faces.ViewState` must be posted back with every request.
PrimeFaces AJAX posts (here: switching a p:tabView tab) answer with an XML <partial-response> whose
<update> elements carry new HTML for parts of the page and, in an update whose id contains
"javax.faces.ViewState", the view state to post next. Component ids (j_idt123) are generated and change
between deployments, so controls are found by what a person sees: their label, title or alt text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from parsel import Selector, SelectorList


class Queryable(Protocol):
    """A parsel Selector or a Scrapy response: anything with `.xpath()`."""

    def xpath(self, query: str, **kwargs: Any) -> SelectorList: ...


# javax.faces.ViewState (JSF 2) or jakarta.faces.ViewState (Faces 3+)
VIEW_STATE = re.compile(r"(?:javax|jakarta)\.faces\.ViewState")

AJAX_HEADERS = {
    "Faces-Request": "partial/ajax",
    "X-Requested-With": "XMLHttpRequest",
    "Accept": "application/xml, text/xml, */*; q=0.01",
}

# Inputs a browser does not send with a plain form submission.
_UNSENT_INPUT_TYPES = {"submit", "image", "reset", "button", "file"}


class JsfError(ValueError):
    """The page does not have the shape the crawl expects; the message says what is missing."""


class ViewExpired(JsfError):
    """The server answered an AJAX post with <redirect>: the session or view expired (a fresh GET helps)."""


@dataclass(frozen=True)
class Tab:
    label: str
    panel_id: str
    index: int


@dataclass(frozen=True)
class TabView:
    id: str
    tabs: tuple[Tab, ...]
    active_index: int

    def tab_matching(self, label: re.Pattern[str]) -> Tab:
        found = [t for t in self.tabs if label.search(t.label)]
        if len(found) != 1:
            labels = [t.label for t in self.tabs]
            raise JsfError(f"tab view {self.id}: {len(found)} tabs match {label.pattern!r} (tabs: {labels})")
        return found[0]


@dataclass(frozen=True)
class Control:
    """A clickable element that submits the form (a command link or button)."""

    id: str
    tag: str
    input_type: str = ""
    value: str = ""
    # The parameters a command link's onclick adds to the form (`onclick_params`), in their order.
    submit_params: tuple[tuple[str, str], ...] = ()

    def params(self) -> dict[str, str]:
        """The request parameters a browser adds when this control submits the form."""
        if self.submit_params:
            return dict(self.submit_params)
        if self.input_type == "image":
            return {f"{self.id}.x": "1", f"{self.id}.y": "1"}
        if self.tag == "a":  # h:commandLink / p:commandLink (non-AJAX): the client id as name and value
            return {self.id: self.id}
        return {self.id: self.value}


@dataclass(frozen=True)
class PartialResponse:
    updates: dict[str, str]  # update id -> CDATA content
    view_state: str


def find_form(page: Queryable, form_id: str) -> Selector:
    forms = page.xpath("//form[@id=$id]", id=form_id)
    if not forms:
        raise JsfError(f"no form with id {form_id!r} in the page")
    return forms[0]


def form_action(form: Selector) -> str:
    action = form.attrib.get("action")
    if not action:
        raise JsfError(f"form {form.attrib.get('id')!r} has no action")
    return action


def form_fields(scope: Selector) -> dict[str, str]:
    """The name -> value pairs a browser would submit for the inputs inside scope (no button clicked)."""
    # In this module an XPath string(...) always yields one result per element; its .get("") default
    # never applies and only types the value as str.
    fields: dict[str, str] = {}
    for element in scope.xpath(".//input[@name] | .//select[@name] | .//textarea[@name]"):
        name = element.attrib["name"]
        tag = element.root.tag
        if tag == "input":
            input_type = element.attrib.get("type", "text").lower()
            if input_type in _UNSENT_INPUT_TYPES:
                continue
            if input_type in {"checkbox", "radio"} and "checked" not in element.attrib:
                continue
            fields[name] = element.attrib.get("value", "on" if input_type in {"checkbox", "radio"} else "")
        elif tag == "select":
            options = element.xpath(".//option[@selected]") or element.xpath(".//option[1]")
            if options:
                fields[name] = options[0].attrib.get("value", options[0].xpath("string(.)").get("").strip())
        else:
            fields[name] = element.xpath("string(.)").get("")
    return fields


def view_state(fields: dict[str, str]) -> tuple[str, str]:
    """(name, value) of the view state among the form fields."""
    for name, value in fields.items():
        if VIEW_STATE.fullmatch(name):
            return name, value
    raise JsfError("the form has no javax.faces.ViewState field")


def find_tab_view(form: Selector) -> TabView | None:
    """The PrimeFaces tab view in the form (its client id, tabs with label, panel id and index, active index),
    or None when the form has none."""
    views = form.xpath(".//div[contains(concat(' ', normalize-space(@class), ' '), ' ui-tabs ')][@id]")
    if len(views) > 1:
        raise JsfError(f"expected one PrimeFaces tab view (div.ui-tabs) in the form, found {len(views)}")
    if not views:
        return None
    view = views[0]
    tabs = []
    for position, header in enumerate(view.xpath(".//ul[contains(@class, 'ui-tabs-nav')]/li")):
        href = header.xpath("./a/@href").get("")
        label = " ".join(header.xpath("string(.)").get("").split())
        if not href.startswith("#"):
            raise JsfError(f"tab header {label!r} has no #panel link")
        panel_id = href[1:]
        panel = view.xpath(".//div[@id=$id]", id=panel_id)
        index = int(panel[0].attrib.get("data-index", position)) if panel else position
        tabs.append(Tab(label=label, panel_id=panel_id, index=index))
    if not tabs:
        raise JsfError(f"tab view {view.attrib['id']} has no tab headers")
    active = view.xpath(".//input[@name=$name]/@value", name=f"{view.attrib['id']}_activeIndex").get()
    if active is None:
        selected = [
            i
            for i, li in enumerate(view.xpath(".//ul[contains(@class, 'ui-tabs-nav')]/li"))
            if "ui-state-active" in li.attrib.get("class", "")
        ]
        active_index = selected[0] if selected else 0
    else:
        active_index = int(active)
    return TabView(id=view.attrib["id"], tabs=tuple(tabs), active_index=active_index)


def tab_change_formdata(fields: dict[str, str], view: TabView, tab: Tab) -> dict[str, str]:
    """Form data of the PrimeFaces AJAX post that switches `view` to `tab` (behaviour event tabChange).

    Exactly the recipe of the scrapers verified against the live portal in 2026 (docs/crawling-breach-portal.md):
    the tab view is the source and is executed, the new tab goes in _newTab/_tabindex and the state holder
    _activeIndex. Nothing else: with _contentLoad=true PrimeFaces renders only the tab's own content.
    """
    return {
        **fields,
        "javax.faces.partial.ajax": "true",
        "javax.faces.source": view.id,
        "javax.faces.partial.execute": view.id,
        "javax.faces.behavior.event": "tabChange",
        f"{view.id}_newTab": tab.panel_id,
        f"{view.id}_tabindex": str(tab.index),
        f"{view.id}_activeIndex": str(tab.index),
    }


def _labels(element: Selector) -> str:
    """Everything a person could read as the element's label: text, title, alt, value, aria-label."""
    parts = [element.xpath("string(.)").get("")]
    for node in [element, *element.xpath(".//*")]:
        parts += [node.attrib.get(a, "") for a in ("title", "alt", "value", "aria-label")]
    return " ".join(" ".join(parts).split())


# A command link submits the form through Mojarra's jsfcljs or PrimeFaces' addSubmitParam, whose second
# argument is a {'name':'value', ...} object of the parameters to add; the first name is the command.
_SUBMITTING_ONCLICK = re.compile(r"(?:mojarra\.jsfcljs|PrimeFaces\.addSubmitParam)\([^{]*\{(?P<params>[^}]*)\}")
_QUOTED_PAIR = re.compile(r"""(['"])(?P<name>.*?)\1\s*:\s*(['"])(?P<value>.*?)\3""")


def onclick_params(onclick: str) -> dict[str, str]:
    """The parameters a command link's onclick adds to the form; {} when it does not submit the form."""
    found = _SUBMITTING_ONCLICK.search(onclick)
    if not found:
        return {}
    return {m["name"]: m["value"] for m in _QUOTED_PAIR.finditer(found["params"])}


def _control(element: Selector) -> Control | None:
    """The control an element is, or None when it submits nothing (e.g. an <a> with neither id nor command)."""
    tag = element.root.tag
    if tag == "a":
        # The real page's exporters are <a href="#"> without an id: the command is in the onclick only.
        params = onclick_params(element.attrib.get("onclick", ""))
        if params:
            return Control(id=next(iter(params)), tag=tag, submit_params=tuple(params.items()))
        return Control(id=element.attrib["id"], tag=tag) if "id" in element.attrib else None
    return Control(
        id=element.attrib.get("name") or element.attrib["id"],
        tag=tag,
        input_type=element.attrib.get("type", "").lower(),
        value=element.attrib.get("value", ""),
    )


def find_control(scope: Selector, label: str) -> Control:
    """The one submitting control in scope whose label contains the word `label` (case-insensitive).

    The label may be the element's text or the title/alt of an image inside it (the exporters are icons)."""
    word = re.compile(rf"\b{re.escape(label)}\b", re.IGNORECASE)
    candidates = scope.xpath(
        ".//a[@id or @onclick] | .//button[@id or @name] | .//input[@type='submit' or @type='image']"
    )
    found: dict[str, Control] = {}
    for element in candidates:
        if not word.search(_labels(element)):
            continue
        control = _control(element)
        if control is not None:
            found[control.id] = control
    if len(found) != 1:
        raise JsfError(f"expected one control labelled {label!r}, found {len(found)}: {sorted(found)}")
    return next(iter(found.values()))


def parse_partial_response(body: bytes) -> PartialResponse:
    """Read a JSF <partial-response>: its updates and the new view state. Errors and redirects raise."""
    try:
        xml = Selector(body=body, type="xml")
        root = xml.xpath("/partial-response")
    except ValueError as e:  # not XML at all
        raise JsfError(f"not a JSF partial-response: {e}") from e
    if not root:
        raise JsfError(f"not a JSF partial-response (starts {body[:80]!r})")
    error = root.xpath("./error")
    if error:
        name = error.xpath("string(error-name)").get("").strip()
        message = error.xpath("string(error-message)").get("").strip()
        raise JsfError(f"the server answered the AJAX post with an error: {name}: {message}")
    redirect = root.xpath("./redirect/@url").get()
    if redirect:
        raise ViewExpired(f"the server redirected the AJAX post to {redirect} (the view expired)")
    updates = {u.attrib["id"]: u.xpath("string(.)").get("") for u in root.xpath("./changes/update[@id]")}
    states = [v.strip() for k, v in updates.items() if VIEW_STATE.search(k)]
    if not states:
        raise JsfError("the partial-response carries no javax.faces.ViewState update")
    return PartialResponse(updates=updates, view_state=states[0])
