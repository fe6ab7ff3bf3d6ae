"""The screen's decisions on messages written for these tests (none come from the dev set)."""

from __future__ import annotations

import json

import pytest

from bot.safety import ScreenResult, screen
from bot.safety.models import CATEGORIES, URGENCIES

URGENT, SAME_DAY, NONE = "urgent", "same_day", "none"

# (text, lang, urgency, category)
CASES: list[tuple[str, str, str, str]] = [
    # --- suicidal ideation: direct, passive, slang, indirect, means, goodbye ----------------
    ("honestly thinking of ending things", "en", URGENT, "suicidal_ideation"),
    ("i'm going to off myself", "en", URGENT, "suicidal_ideation"),
    ("gonna unalive myself fr", "en", URGENT, "suicidal_ideation"),
    ("i think i'm going to ctb soon", "en", URGENT, "suicidal_ideation"),
    ("kms honestly", "en", URGENT, "suicidal_ideation"),
    ("I just want to not be here anymore", "en", URGENT, "suicidal_ideation"),
    ("I wish I could fall asleep and never wake up", "en", URGENT, "suicidal_ideation"),
    (
        "nobody would care if i disappeared, they'd be fine without me",
        "en",
        URGENT,
        "suicidal_ideation",
    ),
    ("the kids would be better off without me", "en", URGENT, "suicidal_ideation"),
    ("no point anymore", "en", URGENT, "suicidal_ideation"),
    ("what is even the point of living", "en", URGENT, "suicidal_ideation"),
    ("i'm so tired of existing", "en", URGENT, "suicidal_ideation"),
    ("life isn't worth living without her", "en", URGENT, "suicidal_ideation"),
    ("I don't think I'll make it through tonight", "en", URGENT, "suicidal_ideation"),
    ("i won't be around much longer", "en", URGENT, "suicidal_ideation"),
    ("ive been planning my funeral", "en", URGENT, "suicidal_ideation"),
    ("I'd rather be dead than go back to jail", "en", URGENT, "suicidal_ideation"),
    ("this is my last message, thank you for everything", "en", URGENT, "suicidal_ideation"),
    ("wrote goodbye letters to my parents", "en", URGENT, "suicidal_ideation"),
    ("giving away my guitar and my games this week", "en", URGENT, "suicidal_ideation"),
    ("please take care of my cat for me", "en", URGENT, "suicidal_ideation"),
    ("by the time you read this it will be over", "en", URGENT, "suicidal_ideation"),
    # means-seeking questions: urgent even when phrased as a question
    ("how many tylenol would it take", "en", URGENT, "suicidal_ideation"),
    ("what is a lethal dose of xanax", "en", URGENT, "suicidal_ideation"),
    ("how much heroin does it take to stop your heart", "en", URGENT, "suicidal_ideation"),
    ("which bridge is the highest in this city", "en", URGENT, "suicidal_ideation"),
    ("how high do you have to jump from to not survive", "en", URGENT, "suicidal_ideation"),
    ("would falling from 8 floors kill a person", "en", URGENT, "suicidal_ideation"),
    ("easiest way to die without pain?", "en", URGENT, "suicidal_ideation"),
    ("i've been stockpiling my seroquel", "en", URGENT, "suicidal_ideation"),
    ("I bought a rope", "en", URGENT, "suicidal_ideation"),
    ("sitting on the train tracks", "en", URGENT, "suicidal_ideation"),
    ("i keep staring at my dad's gun", "en", URGENT, "suicidal_ideation"),
    # same-day ideation
    ("I think about death sometimes", "en", SAME_DAY, "suicidal_ideation"),
    ("I think about death a lot lately", "en", URGENT, "suicidal_ideation"),
    ("feeling hopeless", "en", SAME_DAY, "suicidal_ideation"),
    # --- self-harm ----------------------------------------------------------------------
    ("started cutting again", "en", URGENT, "self_harm"),
    ("i burned my wrist with a lighter", "en", URGENT, "self_harm"),
    ("I cut my thigh last night", "en", URGENT, "self_harm"),
    ("I keep scratching myself until it bleeds", "en", URGENT, "self_harm"),
    ("the blade is next to me", "en", URGENT, "self_harm"),
    ("it went too deep, might need stitches", "en", URGENT, "self_harm"),
    ("banged my head on the wall on purpose", "en", URGENT, "self_harm"),
    ("having urges to self harm", "en", SAME_DAY, "self_harm"),
    ("I hit myself today", "en", SAME_DAY, "self_harm"),
    # --- harm to others -------------------------------------------------------------------
    ("i'm gonna stab that guy", "en", URGENT, "harm_to_others"),
    ("I swear I'll kill my stepdad tonight", "en", URGENT, "harm_to_others"),
    ("going to bring a gun to work tomorrow", "en", URGENT, "harm_to_others"),
    ("I want him dead", "en", URGENT, "harm_to_others"),
    ("I keep having thoughts of hurting my baby", "en", SAME_DAY, "harm_to_others"),
    ("so angry i could strangle my roommate", "en", SAME_DAY, "harm_to_others"),
    # --- overdose or medical, self or someone else -----------------------------------------
    ("my girlfriend won't wake up", "en", URGENT, "overdose_or_medical"),
    ("my roommate is unresponsive", "en", URGENT, "overdose_or_medical"),
    ("his lips are turning blue", "en", URGENT, "overdose_or_medical"),
    ("she stopped breathing what do i do", "en", URGENT, "overdose_or_medical"),
    ("my cousin is having a seizure", "en", URGENT, "overdose_or_medical"),
    ("do I give him narcan", "en", URGENT, "overdose_or_medical"),
    ("took a handful of percs and I feel weird", "en", URGENT, "overdose_or_medical"),
    ("i think im overdosing", "en", URGENT, "overdose_or_medical"),
    ("he od'd in the bathroom", "en", URGENT, "overdose_or_medical"),
    ("I've been mixing alcohol and my klonopin", "en", URGENT, "overdose_or_medical"),
    ("is it ok to drink on methadone", "en", URGENT, "overdose_or_medical"),
    ("my chest hurts really bad", "en", URGENT, "overdose_or_medical"),
    ("detoxing alone at home", "en", SAME_DAY, "overdose_or_medical"),
    ("i stopped taking my vivitrol", "en", SAME_DAY, "overdose_or_medical"),
    # --- unsafe or abuse ----------------------------------------------------------------------
    ("he's choking me", "en", URGENT, "unsafe_or_abuse"),
    ("my husband says he'll kill me if I go to group", "en", URGENT, "unsafe_or_abuse"),
    ("hiding in the closet, he's banging on the door", "en", URGENT, "unsafe_or_abuse"),
    ("im 12 and my uncle touches me", "en", URGENT, "unsafe_or_abuse"),
    ("my boyfriend is hitting my little brother", "en", URGENT, "unsafe_or_abuse"),
    ("I'm not safe here", "en", URGENT, "unsafe_or_abuse"),
    ("my girlfriend pushed me again", "en", SAME_DAY, "unsafe_or_abuse"),
    ("i don't feel safe around him", "en", SAME_DAY, "unsafe_or_abuse"),
    ("my mom kicked me out, nowhere to sleep tonight", "en", SAME_DAY, "unsafe_or_abuse"),
    ("my partner keeps pressuring me to drink", "en", SAME_DAY, "unsafe_or_abuse"),
    # --- relapse or use -------------------------------------------------------------------------
    ("drank three beers after work", "en", SAME_DAY, "relapse_or_use"),
    ("slipped up last night", "en", SAME_DAY, "relapse_or_use"),
    ("i relapsed", "en", SAME_DAY, "relapse_or_use"),
    ("i picked up today", "en", SAME_DAY, "relapse_or_use"),
    ("I'm so drunk rn", "en", SAME_DAY, "relapse_or_use"),
    ("snorted a line at the party", "en", SAME_DAY, "relapse_or_use"),
    ("popped a couple bars", "en", SAME_DAY, "relapse_or_use"),
    ("back to day one", "en", SAME_DAY, "relapse_or_use"),
    ("i messed up and used", "en", SAME_DAY, "relapse_or_use"),
    ("woke up hungover again", "en", SAME_DAY, "relapse_or_use"),
    # --- high craving -------------------------------------------------------------------------
    ("my cravings are out of control", "en", SAME_DAY, "high_craving"),
    ("craving is a 9 right now", "en", SAME_DAY, "high_craving"),
    ("urge to use is 10/10", "en", SAME_DAY, "high_craving"),
    ("i'm about to go get a bottle", "en", SAME_DAY, "high_craving"),
    ("texted my plug", "en", SAME_DAY, "high_craving"),
    ("I'm gonna get high tonight", "en", SAME_DAY, "high_craving"),
    ("one drink won't hurt", "en", SAME_DAY, "high_craving"),
    ("all I can think about is getting drunk", "en", SAME_DAY, "high_craving"),
    # --- Spanish ----------------------------------------------------------------------------------
    ("me quiero matar", "es", URGENT, "suicidal_ideation"),
    ("ya no quiero vivir así", "es", URGENT, "suicidal_ideation"),
    ("quisiera no despertar mañana", "es", URGENT, "suicidal_ideation"),
    ("¿cuántas pastillas hacen falta?", "es", URGENT, "suicidal_ideation"),
    ("estarían mejor sin mí", "es", URGENT, "suicidal_ideation"),
    ("me estoy cortando", "es", URGENT, "self_harm"),
    ("mi novio no respira", "es", URGENT, "overdose_or_medical"),
    ("se tomó todo el frasco y no despierta", "es", URGENT, "overdose_or_medical"),
    ("me está golpeando ahorita", "es", URGENT, "unsafe_or_abuse"),
    ("voy a matarla", "es", URGENT, "harm_to_others"),
    ("recaí anoche", "es", SAME_DAY, "relapse_or_use"),
    ("volví a consumir", "es", SAME_DAY, "relapse_or_use"),
    ("me emborraché", "es", SAME_DAY, "relapse_or_use"),
    ("tengo muchas ganas de drogarme", "es", SAME_DAY, "high_craving"),
    ("no me siento segura en mi casa", "es", SAME_DAY, "unsafe_or_abuse"),
    ("ya me cansé de vivir", "es", URGENT, "suicidal_ideation"),
    ("tengo las pastillas listas", "es", URGENT, "suicidal_ideation"),
    ("me quemé con un cigarro a propósito", "es", URGENT, "self_harm"),
    ("tengo miedo de que me mate", "es", URGENT, "unsafe_or_abuse"),
    ("le voy a dar un balazo", "es", URGENT, "harm_to_others"),
    ("estoy bien high", "es", SAME_DAY, "relapse_or_use"),
    ("me voy a comprar una botella", "es", SAME_DAY, "high_craving"),
    ("dejé de tomar mi suboxone", "es", SAME_DAY, "overdose_or_medical"),
    ("death sounds peaceful right now", "en", URGENT, "suicidal_ideation"),
    ("she's coming at me with a knife", "en", URGENT, "unsafe_or_abuse"),
    ("got kicked out of my apartment", "en", SAME_DAY, "unsafe_or_abuse"),
    ("the urge to drink is unbearable", "en", SAME_DAY, "high_craving"),
    ("trying so hard not to use tonight", "en", SAME_DAY, "high_craving"),
    ("my husband had a beer at the game", "en", NONE, "none"),
    # --- ordinary recovery messages: nothing to flag ---------------------------------------------
    ("had a good day at group", "en", NONE, "none"),
    ("I skipped the party and went to a meeting", "en", NONE, "none"),
    ("I feel clean and fresh after a shower", "en", NONE, "none"),
    ("four months sober as of today", "en", NONE, "none"),
    ("I didn't drink at the wedding", "en", NONE, "none"),
    ("cravings were a 2 today", "en", NONE, "none"),
    ("used the urge surfing thing and it helped", "en", NONE, "none"),
    ("picked up my 60 day keychain", "en", NONE, "none"),
    ("drank lots of water and went to bed early", "en", NONE, "none"),
    ("my sponsor and I got coffee", "en", NONE, "none"),
    ("I took my suboxone this morning", "en", NONE, "none"),
    ("we watched a video about overdose in group", "en", NONE, "none"),
    ("my friend relapsed and I'm worried about her", "en", NONE, "none"),
    ("I'm taking my life back one day at a time", "en", NONE, "none"),
    ("I'm proud of myself", "en", NONE, "none"),
    ("stuck in traffic on the bridge again", "en", NONE, "none"),
    ("my phone is dying, talk later", "en", NONE, "none"),
    ("how many sessions do I have left?", "en", NONE, "none"),
    ("fui a mi junta y me sentí bien", "es", NONE, "none"),
    ("llevo dos meses sin tomar", "es", NONE, "none"),
    ("tomé mucha agua hoy", "es", NONE, "none"),
]


@pytest.mark.parametrize(("text", "lang", "urgency", "category"), CASES)
def test_decision(text: str, lang: str, urgency: str, category: str) -> None:
    result = screen(text, lang)
    assert (result.urgency, result.category) == (urgency, category), result


# Ordinary talk the rules never flag, but that the trained layer of the corpus of issue 17
# may flag as same-day (a false alarm, the cheap error; the corpus should grow to cover it).
RULES_ONLY_NONE = [
    ("voy a tomar una siesta", "es"),
    ("I ended things with my ex and feel lighter", "en"),
]


@pytest.mark.parametrize(("text", "lang"), RULES_ONLY_NONE)
def test_rules_layer_leaves_ordinary_talk_alone(text: str, lang: str) -> None:
    from bot.safety import load_screener

    result = load_screener().screen_rules(text, lang)
    assert result.urgency == NONE, result
    assert screen(text, lang).urgency != URGENT


# --- every way people type -------------------------------------------------------------------

OBFUSCATED = [
    "MAYBE I SHOULD KILL MYSELF",  # case
    "maybe i should kill mysélf",  # accents
    "maybe i should kiiiiill myseeeelf",  # stretched letters
    "i want to diiiie",
    "maybe i should k1ll mys3lf",  # leetspeak
    "want to d1e",
    "thinking about $uicide",
    "i dont want to live",  # missing apostrophes
    "im gonna kill myself",
    "cant go on",
    "thinking about suicde",  # misspellings
    "sucidal thoughts",
    "maybe i should kil myself",
    "maybe i should kill myslef",
    "maybe i should kill myself 😭😭",  # emoji
    "maybe i should kill...myself",  # punctuation and spaces
    "i   want   to    die!!!",
    "maybe i should-kill-myself",
    "s u i c i d e",  # letter spacing
    "k.m.s",
    "iwanttodie",  # run together
    "ｉ ｗａｎｔ ｔｏ ｄｉｅ",  # fullwidth
    "i want to kіll myself",  # Cyrillic і
    "su\u200bicide",  # zero-width space
    "i just really honestly want to die",  # fillers
]


@pytest.mark.parametrize("text", OBFUSCATED)
def test_obfuscations_still_urgent(text: str) -> None:
    assert screen(text).urgency == URGENT


@pytest.mark.parametrize(
    ("text", "urgency"),
    [
        ("i overdoes on fent", URGENT),
        ("0d'd last night", URGENT),
        ("relapssed yesterday", SAME_DAY),
    ],
)
def test_other_obfuscated_categories(text: str, urgency: str) -> None:
    assert screen(text).urgency == urgency


# --- fuzzy matching stays bounded -----------------------------------------------------------

ORDINARY_WORDS = [
    "skill",
    "still",
    "kilt",
    "kiln",
    "diet",
    "dye",
    "build",
    "overdue",
    "overdone",
    "relaxed",
    "relaxing",
    "carving the turkey",
    "strange",
    "sizing",
    "breeding",
    "heroic",
    "killer deal",
    "my skills are still building",
    "I dyed my hair",
    "dieting is hard",
    "my bills are overdue",
]


@pytest.mark.parametrize("text", ORDINARY_WORDS)
def test_fuzzy_does_not_turn_ordinary_words_into_alarms(text: str) -> None:
    assert screen(text).urgency == NONE


@pytest.mark.parametrize(
    "text", ["¿qué sucede?", "sucedió algo raro", "lo que sucedió ayer", "la cocina", "cocinamos"]
)
def test_fuzzy_spanish_ordinary_words(text: str) -> None:
    assert screen(text, "es").urgency == NONE


# --- idioms ------------------------------------------------------------------------------------

IDIOMS = [
    "killing it at work this week",
    "dying to see my kids on sunday",
    "this traffic is killing me",
    "I could kill for a coffee",
    "she's drop dead gorgeous",
    "dead tired after my shift",
    "that stand-up show had me dying lol",
    "I'd die for my kids",
    "my feet are killing me",
    "od'd on caffeine today lol",
    "shoot me a text when you're free",
    "hang in there",
    "me muero de hambre",
    "estoy muerto de cansancio",
]


@pytest.mark.parametrize("text", IDIOMS)
def test_idioms_alone_are_not_flagged(text: str) -> None:
    lang = "es" if text.startswith(("me ", "estoy")) else "en"
    assert screen(text, lang).urgency == NONE


@pytest.mark.parametrize(
    "text",
    [
        "killing it at work but I want to kill myself",
        "this traffic is killing me and honestly i want to die",
        "dying to see my kids but I keep thinking everyone would be better off without me",
        "dead tired, I don't want to wake up tomorrow",
    ],
)
def test_an_idiom_does_not_mask_a_crisis(text: str) -> None:
    assert screen(text).urgency == URGENT


def test_could_kill_for_a_drink_is_still_craving() -> None:
    result = screen("I could kill for a drink right now")
    assert (result.urgency, result.category) == (SAME_DAY, "high_craving")


# --- negation, past, resolution ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "urgency"),
    [
        ("I'm not going to kill myself", SAME_DAY),  # a denial that names it: same day
        ("I'm not suicidal, just tired", SAME_DAY),
        ("I would never hurt myself", SAME_DAY),
        ("no me voy a matar", SAME_DAY),
        ("I don't want to be alive", URGENT),  # negating the wish to live is ideation
        ("i dont want to live anymore", URGENT),
        ("I'm not okay and I want to die", URGENT),  # negation about something else
        ("not gonna lie, I want to die", URGENT),  # "not gonna lie" is not a negation
        ("I can't promise I won't hurt myself", URGENT),
        ("I won't kill myself, but I think about doing it constantly", URGENT),
        ("I tried to kill myself when I was 17", SAME_DAY),  # past attempt: same day
        ("I attempted suicide years ago", SAME_DAY),
        ("I used to cut, two years free of that", NONE),
        ("i used to cut myself in high school", NONE),
        ("I used to cut myself and I did it again last night", URGENT),  # recency wins
        ("I used to drink every day", NONE),
        ("I didn't drink today", NONE),
        ("I'm not going to use tonight", NONE),
        ("I used to drink but I drank last night", SAME_DAY),
        ("craving was strong this morning but it passed after a walk", NONE),
        ("someone offered me a beer and i said no", NONE),
        ("he's not breathing", URGENT),  # negation is the emergency here
    ],
)
def test_negation_and_past(text: str, urgency: str) -> None:
    assert screen(text).urgency == urgency


@pytest.mark.parametrize(
    "text", ["some days i wanna die", "no quiero vivir más", "hoy quisiera morir"]
)
def test_either_language_rules_apply(text: str) -> None:
    # People switch languages and profiles can be wrong: every rule set is used.
    assert screen(text, "en").urgency == URGENT
    assert screen(text, "es").urgency == URGENT
    assert screen(text, "pt-BR").urgency == URGENT


def test_ietf_language_tags() -> None:
    assert screen("i'm not suicidal", "en-US").urgency == SAME_DAY
    assert screen("no me voy a matar", "es-419").urgency == SAME_DAY


# --- emoji -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["🔪", "💊💊💊", "🪦", "⚰️⚰️", "🔪🩸"])
def test_emoji_alone_is_not_urgent(text: str) -> None:
    assert screen(text).urgency != URGENT


def test_emoji_with_self_reference_adds_evidence() -> None:
    from bot.safety import load_screener

    rules = load_screener().screen_rules("me tonight 🔪", "en")
    assert rules.urgency == SAME_DAY  # the rules alone; the trained layer may raise it
    result = screen("me tonight 🔪")
    assert result.urgency in (SAME_DAY, URGENT)
    assert any(e.text == "🔪" for e in result.evidence)


def test_emoji_in_place_of_a_word() -> None:
    assert screen("i want to 🪦").urgency == URGENT
    assert screen("took all my 💊").urgency == URGENT


# --- priority --------------------------------------------------------------------------------


def test_most_urgent_then_category_priority() -> None:
    result = screen("i relapsed last night and now i want to kill myself")
    assert (result.urgency, result.category) == (URGENT, "suicidal_ideation")
    # urgent overdose and urgent self-harm in one message: overdose ranks higher
    result = screen("i cut myself and then took way too many pills")
    assert (result.urgency, result.category) == (URGENT, "overdose_or_medical")
    categories = {e.category for e in result.evidence}
    assert {"self_harm", "overdose_or_medical"} <= categories  # all evidence is kept


# --- evidence -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ok so... thinking I'll kill myself", "kill myself"),
        ("Some days I WANT TO DIEEEE", "WANT TO DIEEEE"),
        ("thinking about su1c1de", "su1c1de"),
        ("café first, then I'll kill mysélf", "kill mysélf"),
        ("ﬁne. i don't want to live", "don't want to live"),
        ("😭😭 s u i c i d e", "s u i c i d e"),
        ("la verdad no quiero vivír más", "no quiero vivír más"),
    ],
)
def test_evidence_spans_point_into_the_original(text: str, expected: str) -> None:
    result = screen(text, "es" if "quiero" in text else "en")
    assert result.urgency == URGENT
    decisive = [e for e in result.evidence if e.rule == result.rule]
    assert decisive
    for ev in decisive:
        assert text[ev.start : ev.end] == ev.text
    assert any(expected in ev.text or ev.text in expected for ev in decisive)
    assert any(ev.text.endswith(expected.split()[-1]) for ev in decisive)


def test_results_are_frozen_and_serializable() -> None:
    result = screen("thinking i'll kill myself")
    assert isinstance(result, ScreenResult)
    assert result.rule and result.rule == result.evidence[0].rule
    with pytest.raises(AttributeError):
        result.urgency = "none"  # type: ignore[misc]
    data = json.loads(json.dumps(result.to_dict()))
    assert data["urgency"] in URGENCIES and data["category"] in CATEGORIES
    assert data["evidence"][0]["text"] == "kill myself"


def test_none_has_no_rule() -> None:
    result = screen("had a nice walk")
    assert (result.urgency, result.category, result.rule, result.evidence) == (
        NONE,
        "none",
        None,
        (),
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "\ud800\udfff broken surrogates",
        "\x00\x01\x02",
        "🏳️‍🌈" * 50,
        "a" * 20000,
        "ß" * 300 + " i want to die",
        "\u0301\u0301 leading marks",
        "İstanbul'a gidiyorum",
    ],
)
def test_any_unicode_is_safe(text: str) -> None:
    result = screen(text)
    for ev in result.evidence:
        assert text[ev.start : ev.end] == ev.text


def test_long_message_with_a_crisis_in_the_middle() -> None:
    filler = "Today I went to group and talked about my week with my counselor. " * 12
    text = filler + "I don't want to wake up tomorrow. " + filler
    result = screen(text)
    assert result.urgency == URGENT
    assert result.evidence[0].text == "don't want to wake up"
