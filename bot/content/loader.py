"""Reading content/ into typed objects; any problem becomes one ContentError message.

The message names the file, the place (key path, and the line when it can be found) and
what is wrong, in words a clinician editing YAML can act on:

    content/en/ui.yaml, line 12: welcome_back: required key is missing
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar, get_args

import yaml
from pydantic import BaseModel, ValidationError

from bot.content.learning import MODULE_FILE, ExerciseFile, LearnFile, ModuleFile
from bot.content.markup import placeholders, render
from bot.content.schema import (
    CARD_FIELDS,
    MESSAGE_MAX,
    AccountFile,
    AccountTexts,
    AlertsFile,
    CheckinFile,
    CrisisText,
    CrisisTexts,
    Discreet,
    GradeLimit,
    JoinTexts,
    MenuTexts,
    Resource,
    ResourceKind,
    ResourcesFile,
    SafetyPlanFile,
    SessionsFile,
    SetupTexts,
    StaffTexts,
    StyleRules,
    UiTexts,
)

DEFAULT_CONTENT_DIR: Path = Path(__file__).resolve().parents[2] / "content"
FALLBACK_LANGUAGE = "en"
RESOURCES_FILE = "crisis_resources.yaml"
# Each language folder holds these files; other files there belong to other features.
LANGUAGE_FILES = (
    "ui.yaml",
    "staff.yaml",
    "account.yaml",
    "alerts.yaml",
    "safetyplan.yaml",
    "checkin.yaml",
    "sessions.yaml",
    "crisis.yaml",
    "style.yaml",
    "learn.yaml",
)
# Lessons and practices: one file each in these folders of a language folder.
MODULES_DIR = "modules"
EXERCISES_DIR = "exercises"
# Language folders are ISO 639 codes ("en", "es"); other folders (e.g. safety/) are not ours.
_LANGUAGE_DIR = re.compile(r"[a-z]{2,3}")
# People say GB; the resource table says UK.
_REGION_ALIASES = {"GB": "UK"}
CARD_PART_SEPARATOR = "\n\n"

_Model = TypeVar("_Model", bound=BaseModel)


class ContentError(Exception):
    """A content file is missing, malformed or breaks a rule; the message says where."""


@dataclass(frozen=True)
class GradedText:
    where: str  # e.g. "content/en/crisis.yaml: regions.US.card"
    text: str
    limit: float
    crisis: bool
    lang: str = FALLBACK_LANGUAGE
    discreet: bool = False  # may show on a lock screen: no diagnosis/substance/medicine


# --- YAML with line numbers -------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys: YAML would silently keep the last one."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


@dataclass
class _File:
    shown: str  # path as shown in messages: "content/en/ui.yaml"
    text: str

    def line_of(self, loc: tuple[Any, ...]) -> int | None:
        """Line of the deepest node on `loc` that exists (1-based), if any does."""
        try:
            node = yaml.compose(self.text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            return None
        if node is None:
            return None
        line = None  # a key missing at the top has no line to point at
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if key.value == str(part):
                        # An error about a dict key (pydantic's "[key]") points at the key.
                        node, line = value, key.start_mark.line + 1
                        break
                else:
                    return line
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if part >= len(node.value):
                    return line
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                return line
        return line

    def error(self, loc: tuple[Any, ...], problem: str) -> ContentError:
        line = self.line_of(loc)
        at = f", line {line}" if line else ""
        path = _key_path(loc)
        return ContentError(f"{self.shown}{at}: {path + ': ' if path else ''}{problem}")


def _key_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if part == "[key]":
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _read(path: Path, root: Path) -> tuple[_File, Any]:
    shown = f"{root.name}/{path.relative_to(root).as_posix()}"
    if not path.is_file():
        raise ContentError(f"{shown}: file is missing")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ContentError(f"{shown}: is not UTF-8 text ({exc.reason})") from None
    file = _File(shown, text)
    try:
        data = yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "not valid YAML"
        # The real mistake is often earlier, where the parser started the current item.
        if exc.context and exc.context_mark and mark and exc.context_mark.line != mark.line:
            problem += f" ({exc.context} that starts at line {exc.context_mark.line + 1})"
        if "mapping values are not allowed" in problem:
            problem += '; a text holding ": " needs quotes or a "|-" block'
        raise ContentError(f"{shown}{at}: not valid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise ContentError(f"{shown}: not valid YAML: {exc}") from None
    if data is None:
        raise ContentError(f"{shown}: file is empty")
    return file, data


_TYPE_NAMES = {
    bool: "yes/no (true/false)",
    int: "a number",
    float: "a number",
    list: "a list",
    dict: "a set of keys",
    type(None): "empty",
}


def _problem(err: Any) -> str:
    kind, value = err["type"], err.get("input")
    got = _TYPE_NAMES.get(type(value), type(value).__name__)
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return "unknown key (not part of this file's layout; check the spelling)"
    if kind == "string_type":
        if value is None:
            return "is empty; write the text"
        return f'should be text, but it is {got}; put it in quotes ("...")'
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"should be a set of keys (key: value), but it is {got}"
    if kind == "list_type":
        return f'should be a list (lines starting with "- "), but it is {got}'
    if kind.startswith("date"):
        return "should be a date written YYYY-MM-DD"
    if kind == "string_too_long":
        return f"is too long ({len(value)} characters; at most {err['ctx']['max_length']})"
    if kind == "value_error":
        return str(err["ctx"]["error"])
    return str(err["msg"])


def _validate(model: type[_Model], data: Any, file: _File) -> _Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        first = file.error(tuple(errors[0]["loc"]), _problem(errors[0]))
        if len(errors) == 1:
            raise first from None
        more = "\n".join(f"  - {file.error(tuple(e['loc']), _problem(e))}" for e in errors[1:10])
        raise ContentError(f"{first}\n  and {len(errors) - 1} more:\n{more}") from None


# --- the loaded content ----------------------------------------------------------------


def _normal_region(region: str) -> str:
    code = region.strip().upper()
    return _REGION_ALIASES.get(code, code)


@dataclass(frozen=True)
class LanguagePack:
    code: str
    ui: UiTexts
    staff: StaffTexts
    accounts: AccountFile  # joining, set-up, the menu and the client's own settings
    alerts: AlertsFile  # the crisis reply to a client, and alerts to the care team
    safety_plan_file: SafetyPlanFile  # the client's safety plan (safetyplan.yaml)
    checkin: CheckinFile  # the daily check-in and the weekly screens (checkin.yaml)
    sessions: SessionsFile  # sessions, reminders, daily reminders, aftercare plan
    crisis: CrisisTexts
    style: StyleRules
    learning: LearnFile  # Learn and Breathe: menus, prompts, staff views (learn.yaml)
    # file name -> lesson (modules/NN_slug.yaml) and practice (exercises/slug.yaml)
    module_files: dict[str, ModuleFile]
    exercise_files: dict[str, ExerciseFile]
    # region -> rendered card parts (numbers filled in), built and checked at load
    _cards: dict[str, tuple[str, ...]] = field(repr=False)
    # region -> the "More help" list, one tap from the card (rendered like the card)
    _more_help: dict[str, tuple[str, ...]] = field(repr=False, default_factory=dict)

    def crisis_card(self, region: str) -> str:
        """The help card for `region`, ready for sendMessage(parse_mode="HTML")."""
        return CARD_PART_SEPARATOR.join(self.crisis_card_parts(region))

    def crisis_card_parts(self, region: str) -> tuple[str, ...]:
        """The card's paragraphs; the last one says this chat is not a crisis service."""
        code = _normal_region(region)
        if code not in self._cards:
            raise ContentError(
                f"no help card for region {region!r}; known: {', '.join(self._cards)}"
            )
        return self._cards[code]

    def crisis_more_help(self, region: str) -> str:
        """The region's "More help" list (every other service), for the card's button."""
        return CARD_PART_SEPARATOR.join(self.crisis_more_help_parts(region))

    def crisis_more_help_parts(self, region: str) -> tuple[str, ...]:
        self.crisis_card_parts(region)  # the same error for an unknown region
        return self._more_help.get(_normal_region(region), ())

    def region_name(self, region: str) -> str:
        self.crisis_card_parts(region)  # the same error for an unknown region
        return self.crisis.regions[_normal_region(region)].name

    # account.yaml's sections, read as pack.join.…, pack.setup.…, pack.menu.…
    @property
    def language_name(self) -> str:
        return self.accounts.language_name

    @property
    def join(self) -> JoinTexts:
        return self.accounts.join

    @property
    def setup(self) -> SetupTexts:
        return self.accounts.setup

    @property
    def menu(self) -> MenuTexts:
        return self.accounts.menu

    @property
    def account(self) -> AccountTexts:
        return self.accounts.account

    # safetyplan.yaml, read as pack.safety_plan.…
    @property
    def safety_plan(self) -> SafetyPlanFile:
        return self.safety_plan_file

    @property
    def modules(self) -> list[ModuleFile]:
        """The lessons, by number."""
        return sorted(self.module_files.values(), key=lambda m: m.number)

    def module(self, number: int) -> ModuleFile | None:
        return next((m for m in self.module_files.values() if m.number == number), None)

    @property
    def exercises(self) -> list[ExerciseFile]:
        """The practices, in their list order."""
        return sorted(self.exercise_files.values(), key=lambda e: e.order)

    def exercise(self, slug: str) -> ExerciseFile | None:
        return self.exercise_files.get(f"{slug}.yaml")


@dataclass(frozen=True)
class Content:
    root: Path
    packs: dict[str, LanguagePack]
    resources: dict[str, dict[str, Resource]]  # region -> resource id -> resource

    @property
    def languages(self) -> list[str]:
        return list(self.packs)

    @property
    def regions(self) -> list[str]:
        return list(self.resources)

    def language(self, code: str | None) -> LanguagePack:
        """The pack for a Telegram language_code: "es-MX" -> "es"; unknown or None -> "en"."""
        if code:
            primary = re.split(r"[-_]", code.strip().lower(), maxsplit=1)[0]
            if primary in self.packs:
                return self.packs[primary]
        return self.packs[FALLBACK_LANGUAGE]

    def region_resources(self, region: str) -> dict[str, Resource]:
        code = _normal_region(region)
        if code not in self.resources:
            raise ContentError(f"no crisis resources for region {region!r}")
        return self.resources[code]

    def emergency_number(self, region: str) -> str:
        """The first emergency number of `region` (e.g. "911"), for code that needs it."""
        for resource in self.region_resources(region).values():
            if resource.kind is ResourceKind.EMERGENCY and resource.call:
                return resource.call
        raise ContentError(f"region {region!r} has no emergency number")

    def verification_dates(self) -> list[tuple[str, str, date]]:
        """(region, resource id, source_checked) for every resource, oldest first."""
        rows = [
            (region, rid, res.source_checked)
            for region, resources in self.resources.items()
            for rid, res in resources.items()
        ]
        return sorted(rows, key=lambda row: row[2])

    def graded_texts(self) -> list[GradedText]:
        """Every client-facing text with its grade limit, read from the schema markers.

        UI texts are walked field by field; each crisis card is graded whole, as the
        client reads it, with the numbers filled in.
        """
        out: list[GradedText] = []
        for code, pack in self.packs.items():
            folder = f"{self.root.name}/{code}"
            for filename, model in (
                ("ui.yaml", pack.ui),
                ("staff.yaml", pack.staff),
                ("account.yaml", pack.accounts),
                ("alerts.yaml", pack.alerts),
                ("safetyplan.yaml", pack.safety_plan_file),
                ("checkin.yaml", pack.checkin),
                ("sessions.yaml", pack.sessions),
                ("learn.yaml", pack.learning),
                *((f"{MODULES_DIR}/{name}", m) for name, m in pack.module_files.items()),
                *((f"{EXERCISES_DIR}/{name}", e) for name, e in pack.exercise_files.items()),
            ):
                for path, text, limit, discreet in _walk_graded(model, "", ()):
                    out.append(
                        GradedText(
                            where=f"{folder}/{filename}: {path}",
                            text=text,
                            limit=limit.limit,
                            crisis=limit.crisis,
                            lang=code,
                            discreet=discreet,
                        )
                    )
            for region in self.regions:
                out.append(
                    GradedText(
                        where=f"{folder}/crisis.yaml: regions.{region}.card",
                        text=pack.crisis_card(region),
                        limit=CRISIS_LIMIT.limit,
                        crisis=True,
                        lang=code,
                    )
                )
                if more := pack.crisis_more_help(region):
                    out.append(
                        GradedText(
                            where=f"{folder}/crisis.yaml: regions.{region}.more_help",
                            text=more,
                            limit=CRISIS_LIMIT.limit,
                            crisis=True,
                            lang=code,
                        )
                    )
        return out


# The crisis limit is read from the CrisisText type, so the schema stays the one source.
CRISIS_LIMIT: GradeLimit = next(m for m in CrisisText.__metadata__ if isinstance(m, GradeLimit))


def _markers(annotation: Any) -> tuple[Any, ...]:
    """The Annotated markers of a type, looking inside `X | None`."""
    found = tuple(getattr(annotation, "__metadata__", ()))
    if found:
        return found
    for arg in get_args(annotation):
        if arg is not type(None) and (inner := getattr(arg, "__metadata__", ())):
            return tuple(inner)
    return ()


def _walk_graded(
    value: Any, path: str, metadata: tuple[Any, ...], annotation: Any = None
) -> Iterator[tuple[str, str, GradeLimit, bool]]:
    """(key path, text, limit, discreet) for every string carrying a GradeLimit marker.

    A list's or a dict's items are graded by their own type's markers (list[ClientText]),
    so every line of a list of texts is graded, not only single texts.
    """
    if isinstance(value, BaseModel):
        for name, info in type(value).model_fields.items():
            yield from _walk_graded(
                getattr(value, name),
                f"{path}.{name}" if path else name,
                tuple(info.metadata) or _markers(info.annotation),
                info.annotation,
            )
    elif isinstance(value, str):
        limit = next((m for m in metadata if isinstance(m, GradeLimit)), None)
        if limit is not None:
            yield path, value, limit, any(isinstance(m, Discreet) for m in metadata)
    elif isinstance(value, (list, tuple)):
        args = get_args(annotation)
        item = args[0] if len(args) == 1 or (args and isinstance(value, list)) else None
        for i, entry in enumerate(value):
            yield from _walk_graded(entry, f"{path}[{i}]", _markers(item) or metadata, item)
    elif isinstance(value, dict):
        args = get_args(annotation)
        item = args[1] if len(args) == 2 else None
        for key, entry in value.items():
            yield from _walk_graded(entry, f"{path}.{key}", _markers(item) or metadata, item)


# --- loading ---------------------------------------------------------------------------


def _render_cards(
    crisis: CrisisTexts, resources: dict[str, dict[str, Resource]], file: _File
) -> dict[str, tuple[str, ...]]:
    for region in crisis.regions:
        if region not in resources:
            raise file.error(
                ("regions", region),
                f"no region {region} in {RESOURCES_FILE}; add its resources there first",
            )
    cards: dict[str, tuple[str, ...]] = {}
    for region, region_resources in resources.items():
        if region not in crisis.regions:
            raise file.error(
                ("regions",), f"no help card for region {region} (listed in {RESOURCES_FILE})"
            )
        templates: list[tuple[tuple[Any, ...], str]] = [
            (("regions", region, "card", i), part)
            for i, part in enumerate(crisis.regions[region].card)
        ]
        templates.append((("not_a_crisis_service",), crisis.not_a_crisis_service))
        parts = _render_parts(templates, region, region_resources, file)
        cards[region] = tuple(parts)
        length = len(CARD_PART_SEPARATOR.join(parts))
        if length > MESSAGE_MAX:
            raise file.error(
                ("regions", region, "card"),
                f"card is {length} characters; Telegram allows {MESSAGE_MAX}",
            )
    return cards


def _render_parts(
    templates: list[tuple[tuple[Any, ...], str]],
    region: str,
    region_resources: dict[str, Resource],
    file: _File,
) -> list[str]:
    parts: list[str] = []
    for loc, template in templates:
        for name in placeholders(template):
            problem = _card_placeholder_problem(name, region, region_resources)
            if problem:
                raise file.error(loc, problem)
        parts.append(render(template, **region_resources))
    return parts


def _render_more_help(
    crisis: CrisisTexts, resources: dict[str, dict[str, Resource]], file: _File
) -> dict[str, tuple[str, ...]]:
    """Each region's "More help" list (one tap from the card), numbers filled in."""
    out: dict[str, tuple[str, ...]] = {}
    for region, card in crisis.regions.items():
        templates: list[tuple[tuple[Any, ...], str]] = [
            (("regions", region, "more_help", i), part) for i, part in enumerate(card.more_help)
        ]
        out[region] = tuple(_render_parts(templates, region, resources.get(region, {}), file))
    return out


def _card_placeholder_problem(name: str, region: str, resources: dict[str, Resource]) -> str:
    resource_id, _, attribute = name.partition(".")
    fields = ", ".join(CARD_FIELDS)
    if not attribute or "." in attribute or "[" in name:
        return (
            f"placeholder {{{name}}} should name a resource and a field, like "
            f"{{{next(iter(resources))}.call}}"
        )
    if resource_id not in resources:
        return (
            f"placeholder {{{name}}} names no resource: region {region} in {RESOURCES_FILE} "
            f"has {', '.join(resources)}"
        )
    if attribute not in CARD_FIELDS:
        return f"placeholder {{{name}}}: {attribute!r} is not a card field (use {fields})"
    if getattr(resources[resource_id], attribute) is None:
        return (
            f"placeholder {{{name}}}: resource {resource_id} of region {region} "
            f"has no {attribute} in {RESOURCES_FILE}"
        )
    return ""


def _load_pack(root: Path, code: str, resources: dict[str, dict[str, Resource]]) -> LanguagePack:
    folder = root / code
    models: dict[str, tuple[_File, Any]] = {}
    for filename, model in (
        ("ui.yaml", UiTexts),
        ("staff.yaml", StaffTexts),
        ("account.yaml", AccountFile),
        ("alerts.yaml", AlertsFile),
        ("safetyplan.yaml", SafetyPlanFile),
        ("checkin.yaml", CheckinFile),
        ("sessions.yaml", SessionsFile),
        ("crisis.yaml", CrisisTexts),
        ("style.yaml", StyleRules),
        ("learn.yaml", LearnFile),
    ):
        file, data = _read(folder / filename, root)
        models[filename] = (file, _validate(model, data, file))
    crisis_file, crisis = models["crisis.yaml"]
    learn_file, learning = models["learn.yaml"]
    exercises = _load_exercises(root, folder / EXERCISES_DIR)
    modules = _load_modules(root, folder / MODULES_DIR, exercises)
    for key, need in learning.breathe.needs.items():
        for i, slug in enumerate(need.exercises):
            if f"{slug}.yaml" not in exercises:
                raise learn_file.error(
                    ("breathe", "needs", key, "exercises", i),
                    f"no exercise {slug!r} in {EXERCISES_DIR}/",
                )
    return LanguagePack(
        code=code,
        ui=models["ui.yaml"][1],
        staff=models["staff.yaml"][1],
        accounts=models["account.yaml"][1],
        alerts=models["alerts.yaml"][1],
        safety_plan_file=models["safetyplan.yaml"][1],
        checkin=models["checkin.yaml"][1],
        sessions=models["sessions.yaml"][1],
        crisis=crisis,
        style=models["style.yaml"][1],
        learning=learning,
        module_files=modules,
        exercise_files=exercises,
        _cards=_render_cards(crisis, resources, crisis_file),
        _more_help=_render_more_help(crisis, resources, crisis_file),
    )


def _load_exercises(root: Path, folder: Path) -> dict[str, ExerciseFile]:
    out: dict[str, ExerciseFile] = {}
    orders: dict[int, str] = {}
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        file, data = _read(path, root)
        exercise = _validate(ExerciseFile, data, file)
        if f"{exercise.slug}.yaml" != path.name:
            raise file.error(("slug",), f"slug {exercise.slug!r} should match the file name")
        if exercise.order in orders:
            raise file.error(
                ("order",), f"order {exercise.order} is used by {orders[exercise.order]} too"
            )
        orders[exercise.order] = path.name
        out[path.name] = exercise
    return out


def _load_modules(
    root: Path, folder: Path, exercises: dict[str, ExerciseFile]
) -> dict[str, ModuleFile]:
    out: dict[str, ModuleFile] = {}
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        file, data = _read(path, root)
        found = MODULE_FILE.fullmatch(path.name)
        if found is None:
            raise ContentError(
                f"{file.shown}: a lesson file is named NN_slug.yaml, like 03_triggers.yaml"
            )
        module = _validate(ModuleFile, data, file)
        if module.number != int(found.group(1)):
            raise file.error(
                ("number",), f"number {module.number} should match the file name ({found.group(1)})"
            )
        if module.practice is not None and f"{module.practice}.yaml" not in exercises:
            raise file.error(("practice",), f"no exercise {module.practice!r} in {EXERCISES_DIR}/")
        out[path.name] = module
    numbers = sorted(m.number for m in out.values())
    if numbers != list(range(1, len(numbers) + 1)):
        shown = f"{root.name}/{folder.relative_to(root).as_posix()}/"
        raise ContentError(f"{shown}: lessons should be numbered 1 to {len(numbers)} without gaps")
    return out


def load_content(root: Path = DEFAULT_CONTENT_DIR) -> Content:
    """Load and validate every language folder under `root`; "en" is required.

    Raises ContentError with one message naming the file, the place and the problem.
    """
    root = Path(root)
    if not root.is_dir():
        raise ContentError(f"content folder not found: {root}")
    file, data = _read(root / RESOURCES_FILE, root)
    resources = _validate(ResourcesFile, data, file).regions
    codes = sorted(p.name for p in root.iterdir() if p.is_dir() and _LANGUAGE_DIR.fullmatch(p.name))
    if FALLBACK_LANGUAGE not in codes:
        raise ContentError(
            f"{root.name}/{FALLBACK_LANGUAGE}/: folder is missing; English is required "
            "as the fallback language"
        )
    # English first: it is the fallback, and its errors matter most.
    codes.remove(FALLBACK_LANGUAGE)
    packs = {code: _load_pack(root, code, resources) for code in [FALLBACK_LANGUAGE, *codes]}
    return Content(root=root, packs=packs, resources=resources)
