"""The material master: one entry per material code (a reagent, a viral vector, a medium,
a consumable, a kit) with its type, storage condition and the unit its lots are counted
in (stream ``matdef-<code>``). Lots are received only of materials defined here.

Named ``MaterialDefinition`` (and served at ``/material-master``) so it never meets the
apheresis ``ApheresisMaterial`` of ``/materials/{apheresis_unit_id}``."""

from __future__ import annotations

import re
from datetime import datetime

from v2v_runtime.domain import Aggregate, DomainEvent
from v2v_runtime.errors import Conflict, DomainError

from .events import Operator
from .material_events import MaterialDefined, MaterialType, StorageCondition
from .material_units import check_unit

STREAM_PREFIX = "matdef-"
MATERIAL_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_CODE = re.compile(MATERIAL_CODE_PATTERN)


def check_material_code(code: str, field: str = "material_code") -> None:
    if not _CODE.fullmatch(code):
        raise DomainError(
            "material-code-invalid",
            f"{field} must be 1 to 64 letters, digits, '.', '_' or '-' ({code!r})",
            field=field,
        )


class MaterialDefinition(Aggregate):
    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.defined: MaterialDefined | None = None

    @staticmethod
    def stream_for(material_code: str) -> str:
        check_material_code(material_code)
        return f"{STREAM_PREFIX}{material_code}"

    @property
    def code(self) -> str:
        return self.id.removeprefix(STREAM_PREFIX)

    def define(
        self,
        *,
        name: str,
        material_type: MaterialType,
        storage_condition: StorageCondition,
        unit: str,
        defined_at: datetime,
        defined_by: Operator,
    ) -> bool:
        """Define the material; False when it is already defined exactly so (a repeat),
        409 ``material-already-defined`` when defined otherwise (the master keeps it)."""
        if not name.strip():
            raise DomainError("material-name-required", "a material has a name", field="name")
        check_unit(unit)
        wanted = (name, material_type, storage_condition, unit)
        if self.defined is not None:
            d = self.defined
            if (d.name, d.material_type, d.storage_condition, d.unit) == wanted:
                return False
            raise Conflict(
                "material-already-defined",
                f"material {self.code} is defined already, otherwise ({d.name}, "
                f"{d.material_type.value}, {d.storage_condition.value}, {d.unit})",
                material_code=self.code,
            )
        self._record(
            MaterialDefined(
                material_code=self.code,
                name=name,
                material_type=material_type,
                storage_condition=storage_condition,
                unit=unit,
                defined_at=defined_at,
                defined_by=defined_by,
            )
        )
        return True

    def apply(self, event: DomainEvent) -> None:
        match event:
            case MaterialDefined():
                self.defined = event
            case _:
                raise TypeError(f"a material definition does not apply {type(event).__name__}")
