"""The inbox's email signature, with variables, under every email reply. Pure.

Only the email adapter adds it, so chat replies never carry one. Variables are replaced by
plain substitution (never ``str.format``: a signature is admin text, not a template
language); an unknown ``{name}`` is refused when the inbox is saved. The signature follows
the RFC 3676 separator ``-- `` so mail clients recognise and may collapse it.
"""

from __future__ import annotations

import re

from adapters.base import ConfigInvalid

MAX_SIGNATURE = 2000
VARIABLES = ("agent_name", "agent_first_name", "agent_signature", "inbox_name", "inbox_address")
_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def check_signature(template: str) -> str:
    """The template, or ConfigInvalid naming what is wrong with it."""
    if len(template) > MAX_SIGNATURE:
        raise ConfigInvalid(f"signature: at most {MAX_SIGNATURE} characters")
    unknown = sorted({m for m in _VARIABLE.findall(template) if m not in VARIABLES})
    if unknown:
        known = ", ".join("{" + v + "}" for v in VARIABLES)
        raise ConfigInvalid(f"signature: unknown variable {{{unknown[0]}}}; use {known}")
    return template


def render_signature(template: str, values: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        return values.get(match.group(1), "")

    lines = [line.rstrip() for line in _VARIABLE.sub(value, template).strip().splitlines()]
    return "\n".join(lines).strip()


def compose_signature(inbox_template: str, agent_template: str, values: dict[str, str]) -> str:
    """The inbox's signature, with the agent's own one (rendered with the same variables)
    as ``{agent_signature}`` — or above the inbox's when the inbox does not place it."""
    own = render_signature(agent_template.replace("{agent_signature}", ""), values)
    shown = render_signature(inbox_template, {**values, "agent_signature": own})
    if own and "{agent_signature}" not in inbox_template:
        return "\n".join(x for x in (own, shown) if x)
    return shown


def with_signature(text: str | None, signature: str) -> str:
    body = (text or "").rstrip()
    return f"{body}\n\n-- \n{signature}" if signature else (text or "")


def signature_values(agent_name: str | None, inbox_name: str, address: str) -> dict[str, str]:
    name = (agent_name or "").strip()
    return {
        "agent_name": name,
        "agent_first_name": name.split()[0] if name else "",
        "inbox_name": inbox_name,
        "inbox_address": address,
    }
