"""Personal facts sealed for the services that decide with them (an event's SEALED_FACTS).

Birth date, sex, hospitalisation dates and severity, living alone and the risk tier are what care decides with
(milestone birthdays, high-risk contact, hospital visits), and they are personal data that must die with an
erasure like the rest. They are sealed with the person's *facts key* (a key-table entry of its own,
`facts:<person>`, created and erased beside the person's key), and every such event carries that key wrapped by
the current master version (`facts_key`). A service holding the same master keys adopts it into its own key
table the first time it sees it, opens the facts with it and erases it on `PersonalDataErased`; the copy on the
stream dies with its master version after the backup window. Profiles' other sealed fields (name, ID, phone...)
stay under the person's own key, which never leaves profiles. A reader without the facts key gets None.
"""

from __future__ import annotations

import json
from contextlib import suppress
from typing import Any

from backbone.crypto import KeyErased, Keyring, facts_holder, is_sealed
from backbone.db import Connection
from contracts.base import Envelope, Event
from contracts.registry import event_model

FACTS_KEY_FIELD = "facts_key"


async def seal_facts(conn: Connection, keyring: Keyring, event: Event, person: str, data: dict[str, Any]) -> None:
    """Seal the event's facts in `data` (the event as stored and published) and add the shared facts key."""
    holder = facts_holder(person)
    for name in event.SEALED_FACTS:
        if data.get(name) is not None:
            data[name] = await keyring.seal(conn, holder, name, json.dumps(data[name], ensure_ascii=False))
    data[FACTS_KEY_FIELD] = await keyring.share(conn, holder)


async def open_facts(conn: Connection, keyring: Keyring, env: Envelope, owner: str) -> Envelope:
    """The envelope with its sealed facts opened (None where the person's facts key was erased), adopting the
    facts key it carries if this service has none yet for the person. Other envelopes are returned as they are.
    """
    model = event_model(owner, env.type)
    if model is None or not model.SEALED_FACTS or model.PERSON_FIELD is None:
        return env
    sealed = {n: env.data[n] for n in model.SEALED_FACTS if is_sealed(env.data.get(n))}
    if not sealed:
        return env
    holder = facts_holder(str(env.data[model.PERSON_FIELD]))
    shared = env.data.get(FACTS_KEY_FIELD)
    if isinstance(shared, str):
        with suppress(KeyErased):  # its master version is gone: the facts stay closed unless a key is kept
            await keyring.adopt(conn, holder, shared)
    opened = dict(env.data)
    for name, value in sealed.items():
        try:
            opened[name] = json.loads(await keyring.open(conn, holder, name, value))
        except KeyErased:
            opened[name] = None
    return env.model_copy(update={"data": opened})
