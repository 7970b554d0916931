"""Shared examples for the agreement test: responses x constraint kwargs, made deterministically from a seed.

Responses are assembled from English prose with the features the checkers look at (titles, highlights,
bullets, dividers, postscripts, JSON, quotes, case changes) switched on and off at random; kwargs are drawn
around each response's own counts so that both verdicts occur.
"""

from __future__ import annotations

import json
import random
import re

SENTENCES = [
    "The river runs past the old mill and turns toward the sea.",
    "Every morning the baker opens the shop before the sun comes up.",
    "Our team finished the report, checked the numbers, and sent it to the board.",
    "She said the potato harvest was good this year.",
    "A quiet street can be the best place to think about a problem.",
    "The president of the club welcomed the new members with a short speech.",
    "Rain fell all night, so the roads were wet and slippery in the morning.",
    "He read the letter twice before he understood what it meant.",
    "The museum keeps a collection of maps drawn by hand centuries ago.",
    "Good habits, like sleep and exercise, make hard work easier.",
    "The train to the coast leaves at nine and arrives before lunch.",
    "They planted tomatoes, beans, and herbs in the garden behind the school.",
    "Please bring the signal lamp back to the western gate tonight.",
    "The trainer explained each exercise slowly and with great patience.",
    "Most of the visitors stayed until the music ended.",
]
KEYWORDS = ["river", "potato", "president", "signal", "morning", "garden", "train", "music", "ocean", "dragon"]
END_PHRASES = ["Any other questions?", "Is there anything else I can help with?", "Let me know if that helps."]
MARKERS = ["P.S.", "P.P.S", "Note:"]


def _prose(rng: random.Random, lo: int = 1, hi: int = 6) -> str:
    return " ".join(rng.sample(SENTENCES, rng.randint(lo, hi)))


def make_response(rng: random.Random, kind: str | None = None, decorate: float = 0.4, force: str = "") -> str:
    """A response of ``kind`` (random when None); each decoration (title, highlights, ...) is added with
    probability ``decorate``, the one named ``force`` always."""

    def add(name: str) -> bool:
        return rng.random() < decorate or name == force

    kind = kind or rng.choice(["prose", "paragraphs", "bullets", "json", "sections", "two", "mixed"])
    if kind == "paragraphs":
        sep = rng.choice(["\n\n***\n\n", " *** ", "\n\n", "\n***\n\n***\n"])
        text = sep.join(_prose(rng, 1, 3) for _ in range(rng.randint(1, 5)))
        if rng.random() < 0.2:
            text = "***\n" + text + "\n***"
    elif kind == "bullets":
        lines = [rng.choice(["* ", "- ", "  * ", "** ", "*"]) + rng.choice(SENTENCES) for _ in range(rng.randint(0, 6))]
        text = _prose(rng, 0, 2) + "\n" + "\n".join(lines)
    elif kind == "json":
        obj = {"answer": rng.choice(SENTENCES), "count": rng.randint(0, 99), "tags": rng.sample(KEYWORDS, 2)}
        body = json.dumps(obj, indent=rng.choice([None, 2]))
        if rng.random() < 0.3:
            body = body[:-1]  # broken JSON
        text = rng.choice(["{b}", "```json\n{b}\n```", "```\n{b}\n```", "Here it is: {b}", "```JSON\n{b}```"]).format(b=body)
    elif kind == "sections":
        splitter = rng.choice(["Section", "SECTION"])
        text = "\n".join(f"{splitter} {i + 1}\n{_prose(rng, 1, 2)}" for i in range(rng.randint(1, 4)))
    elif kind == "two":
        a, b = _prose(rng, 1, 2), _prose(rng, 1, 2)
        text = rng.choice(["{a}\n******\n{b}", "{a}\n******\n{a}", "{a}\n******\n******\n{b}", "{a}", "******\n{a}\n******\n{b}"]
                          ).format(a=a, b=b)
    else:
        text = _prose(rng, 1, 8)
    if kind in ("prose", "mixed") or rng.random() < 0.3:
        if add("title"):
            text = rng.choice(["<<A Day by the River>>\n", "<< >>\n", "<<title\n>>\n", "<<Notes>> "]) + text
        if add("highlights"):
            words = text.split(" ")
            for _ in range(rng.randint(1, 4)):
                i = rng.randrange(len(words))
                words[i] = rng.choice(["*{}*", "**{}**", "* {} *", "*{}", "**"]).format(words[i])
            text = " ".join(words)
        if add("placeholders"):
            text += rng.choice([" Fill in [name] and [address].", " Call [phone number] today.", " [x]"])
        if add("postscript"):
            text += "\n\n" + rng.choice(["P.S. See you soon.", "p. s. write back", "P.P.S also this", "Note: later.",
                                         "PS no dots"])
        if add("end"):
            text += " " + rng.choice(END_PHRASES)
        if add("answer"):
            text = rng.choice(["My answer is yes.", "My answer is maybe", "My answer is no. "]) + " " + text
    case = rng.random()
    if case < 0.2 or force == "lower":
        text = text.lower()
    elif case < 0.35 or force == "upper":
        text = text.upper()
    if rng.random() < 0.2 or force == "no_comma":
        text = text.replace(",", "")
    if rng.random() < 0.15 or force == "quotes":
        text = rng.choice(['"{}"', '  "{}"\n', '"{}', "'{}'"]).format(text)
    return text


#: hand-made edge cases, checked against every compared type too
EDGE_CASES = [
    "", "   ", "***", "* * *", "<<>>", "<< >>", '"', '""', '" "', "P.S.", "p.p.s", "p.s", "```json\n{}\n```",
    "```\n[1, 2]```", "null", "[]", "[a][b]", "a,b", "SECTION1", "Section 2 x Section 3 y", "******",
    "a\n******\nb", "*\n*\n- \n-", "**bold** and *it*", "***\nOne.\n***\n***\nTwo.", "\n\nfirst para\n\nsecond",
    "My answer is yes.", "ANY OTHER QUESTIONS?", "x Any other questions?\"", "HELLO, WORLD", "hello world",
    "123 456", "I AM A CAT", "Émile écrit à l'école.",
]


def _relation(rng: random.Random) -> str:
    return rng.choice(["less than", "at least"])


def _around(rng: random.Random, n: int) -> int:
    return max(1, n + rng.choice([-2, -1, 0, 0, 0, 1, 1, 5]))


def make_kwargs(rng: random.Random, kind: str, response: str) -> dict:
    """Kwargs for constraint ``kind`` drawn around the response's own counts."""
    words = len(re.findall(r"\w+", response))
    if kind == "length_constraints:number_words":
        return {"num_words": _around(rng, words), "relation": _relation(rng)}
    if kind == "length_constraints:number_paragraphs":
        return {"num_paragraphs": _around(rng, response.count("***") + 1)}
    if kind == "length_constraints:nth_paragraph_first_word":
        n = max(1, response.count("\n\n") + rng.choice([0, 1, 0, -1]))
        first = rng.choice([re.split(r"\W+", p.strip())[0] or "x" for p in response.split("\n\n")] + ["the"])
        return {"num_paragraphs": n, "nth_paragraph": rng.randint(1, n), "first_word": first}
    if kind == "keywords:existence":
        present = [k for k in KEYWORDS if k in response.lower()]
        pool = present if present and rng.random() < 0.5 else KEYWORDS
        return {"keywords": rng.sample(pool, min(len(pool), rng.choice([1, 1, 2])))}
    if kind == "keywords:forbidden_words":
        return {"forbidden_words": rng.sample(KEYWORDS + ["the", "and"], rng.randint(1, 3))}
    if kind == "keywords:frequency":
        kw = rng.choice(KEYWORDS + ["the", "a"])
        return {"keyword": kw, "frequency": _around(rng, response.lower().count(kw)), "relation": _relation(rng)}
    if kind == "keywords:letter_frequency":
        letter = rng.choice("etaoinsrhz")
        return {"letter": letter, "let_frequency": _around(rng, response.lower().count(letter)),
                "let_relation": _relation(rng)}
    if kind == "detectable_format:number_highlighted_sections":
        return {"num_highlights": rng.randint(1, 3)}
    if kind == "detectable_format:multiple_sections":
        return {"section_spliter": rng.choice(["Section", "SECTION"]),
                "num_sections": _around(rng, response.lower().count("section "))}
    if kind == "detectable_format:number_bullet_lists":
        bullets = re.findall(r"^\s*(?:\*[^*]|-)", response, flags=re.MULTILINE)
        return {"num_bullets": _around(rng, len(bullets))}
    if kind == "detectable_content:number_placeholders":
        return {"num_placeholders": _around(rng, response.count("["))}
    if kind == "detectable_content:postscript":
        return {"postscript_marker": rng.choice(MARKERS)}
    if kind == "startend:end_checker":
        return {"end_phrase": rng.choice(END_PHRASES)}
    if kind == "combination:repeat_prompt":
        prompts = [p for p in (response[:30], response[:30].upper(), response[5:40]) if p] + ["Write a poem."]
        return {"prompt_to_repeat": rng.choice(prompts)}
    return {}


#: the constraint types compared with lm-eval; number_sentences and capital_word_frequency need nltk's
#: punkt data, which no package registry serves
COMPARED = [
    "length_constraints:number_words", "length_constraints:number_paragraphs",
    "length_constraints:nth_paragraph_first_word", "keywords:existence", "keywords:forbidden_words",
    "keywords:frequency", "keywords:letter_frequency", "change_case:english_lowercase",
    "change_case:english_capital", "detectable_format:title", "detectable_format:number_highlighted_sections",
    "detectable_format:multiple_sections", "detectable_format:number_bullet_lists",
    "detectable_format:json_format", "detectable_format:constrained_response",
    "detectable_content:number_placeholders", "detectable_content:postscript", "startend:end_checker",
    "startend:quotation", "punctuation:no_comma", "combination:repeat_prompt", "combination:two_responses",
]


#: the response kind that exercises a constraint type (others: decorated prose)
FOCUS = {
    "length_constraints:number_paragraphs": "paragraphs", "length_constraints:nth_paragraph_first_word": "paragraphs",
    "detectable_format:multiple_sections": "sections", "detectable_format:number_bullet_lists": "bullets",
    "detectable_format:json_format": "json", "combination:two_responses": "two",
}
#: the decoration that a focused response of a type always has
FORCE = {
    "detectable_format:title": "title", "detectable_format:number_highlighted_sections": "highlights",
    "detectable_content:number_placeholders": "placeholders", "detectable_content:postscript": "postscript",
    "startend:end_checker": "end", "detectable_format:constrained_response": "answer",
    "change_case:english_lowercase": "lower", "change_case:english_capital": "upper",
    "punctuation:no_comma": "no_comma", "startend:quotation": "quotes",
}


def shared_examples(per_type: int = 30, seed: int = 20) -> list[dict]:
    """``per_type`` rows for each compared type (``{"type", "kwargs", "response"}``): half of the responses of
    the kind that exercises it, half of any kind."""
    rng = random.Random(seed)
    rows = []
    for kind in COMPARED:
        for i in range(per_type):
            focused = i % 2 == 1
            response = (make_response(rng, FOCUS.get(kind, "mixed"), 0.5, FORCE.get(kind, "")) if focused
                        else make_response(rng, None, 0.3))
            rows.append({"type": kind, "kwargs": make_kwargs(rng, kind, response), "response": response})
        for response in EDGE_CASES:
            rows.append({"type": kind, "kwargs": make_kwargs(rng, kind, response), "response": response})
    return rows
