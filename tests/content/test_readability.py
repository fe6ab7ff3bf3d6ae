"""fk_grade against sentences counted by hand (syllables = pyphen en_US hyphenation + 1)."""

import pytest

from bot.readability import clean, fk_grade, sentences_of, syllables, text_stats


def test_simple_sentence_scores_below_zero() -> None:
    # 6 one-syllable words, 1 sentence: 0.39*6 + 11.8*1 - 15.59 = -1.45
    text = "The cat sat on the mat."
    stats = text_stats(text)
    assert (stats.words, stats.sentences, stats.syllables) == (6, 1, 6)
    assert fk_grade(text) == pytest.approx(-1.45, abs=0.005)


def test_two_plain_sentences() -> None:
    # 12 words, 2 sentences, 13 syllables (to-day is the only two-syllable word):
    # 0.39*6 + 11.8*13/12 - 15.59 = 2.34 + 12.783 - 15.59 = -0.467
    stats = text_stats("I feel calm today. I went for a walk with my dog.")
    assert (stats.words, stats.sentences, stats.syllables) == (12, 2, 13)
    assert stats.grade == pytest.approx(-0.467, abs=0.005)


def test_academic_sentence_scores_high() -> None:
    # 14 words, 1 sentence, 35 syllables: com-mit-tee 3, rec-om-mend-ed 4,
    # or-ga-ni-za-tion 5, re-con-sid-er 4, en-vi-ron-men-tal 5, poli-cies 2, be-fore 2,
    # eval-u-a-tion 4, six one-syllable words. 0.39*14 + 11.8*35/14 - 15.59 = 19.37
    text = (
        "The committee recommended that the organization reconsider its environmental "
        "policies before the next evaluation."
    )
    stats = text_stats(text)
    assert (stats.words, stats.sentences, stats.syllables) == (14, 1, 35)
    assert fk_grade(text) == pytest.approx(19.37, abs=0.005)
    assert fk_grade(text) > 12


def test_dense_jargon_scores_far_above_crisis_limit() -> None:
    # 10 words, 40 syllables (epis-te-mo-log-i-cal 6, ram-i-fi-ca-tions 5, in-sti-tu-tion-al 5,
    # het-ero-gene-ity 4, ne-ces-si-tate 4, com-pre-hen-sive 4, method-olog-i-cal 4,
    # re-con-sid-er-a-tion 6, the 1, of 1): 0.39*10 + 11.8*4 - 15.59 = 35.51
    text = (
        "The epistemological ramifications of institutional heterogeneity necessitate "
        "comprehensive methodological reconsideration."
    )
    assert fk_grade(text) == pytest.approx(35.51, abs=0.005)


# Sentence counts below are what textstat 0.7.3's sentence_count returns for the same
# text (checked once by hand against that release; it is not a dependency).


def test_line_breaks_end_no_sentence_and_short_pieces_do_not_count() -> None:
    # Pieces: "Hi there!" (2 words, not counted), "Tap a button." (3),
    # "Check in\n• Learn" (3, no end mark, so the bullets run together): 2 sentences.
    stats = text_stats("Hi there!\nTap a button.\n• Check in\n• Learn")
    assert (stats.words, stats.sentences) == (8, 2)


def test_a_two_word_sentence_does_not_lower_the_grade() -> None:
    # The old TIPP safety card: textstat counts 1 sentence of 32 words (grade 13.4 there).
    text = (
        "Safety first. Skip the cold water and the hard exercise if you have heart "
        "problems, take beta blockers, have an eating disorder, or are pregnant, unless "
        "your doctor says it is OK."
    )
    stats = text_stats(text)
    assert (stats.words, stats.sentences) == (32, 1)
    assert stats.grade > 8


def test_every_dot_ends_a_piece_as_in_textstat() -> None:
    assert sentences_of("Visit 988lifeline.org today. Or call.") == [
        "Visit 988lifeline.",
        "org today.",
        "Or call.",
    ]
    # ... and none of the three pieces has more than two words: 1 sentence.
    assert text_stats("Visit 988lifeline.org today. Or call.").sentences == 1
    assert text_stats("Are you OK? I am here. Tap a button when you are ready.").sentences == 3


def test_tags_placeholders_and_emoji_are_not_read() -> None:
    assert clean("🚨 <b>Call {emergency.call} now</b> &amp; stay") == " Call  now & stay"
    # "Call now": 2 words, 1 sentence, 2 syllables: 0.78 + 11.8 - 15.59 = -3.01
    assert fk_grade("🆘 <b>Call {emergency.call} now</b>") == pytest.approx(-3.01, abs=0.005)


def test_empty_text_has_grade_zero_and_one_sentence() -> None:
    stats = text_stats("🙂 <b></b>")
    assert (stats.words, stats.sentences) == (0, 1)
    assert fk_grade("") == 0.0


def test_other_languages_use_their_own_syllables() -> None:
    assert syllables("llamada", "es") == 3  # lla-ma-da
    assert syllables("llamada", "es-MX") == 3
    assert syllables("recommended") == 4  # rec-om-mend-ed, en_US
