"""MATH answers: the last ``\\boxed{}`` (or Minerva's "Final Answer: The final answer is X. I hope
it is correct."), normalised as Minerva does (Lewkowycz et al., 2022, appendix D.1), then compared
as strings, after Hendrycks' ``strip_string`` (fractions, ``\\left``/``\\right``, spaces, units),
or as numbers."""

from __future__ import annotations

import re
from fractions import Fraction

SUBSTITUTIONS = [
    ("an ", ""), ("a ", ""), (".$", "$"), ("\\$", ""), (r"\ ", ""), (" ", ""), ("mbox", "text"),
    (",\\text{and}", ","), ("\\text{and}", ","), ("\\text{m}", "\\text{}"),
]
REMOVED_EXPRESSIONS = [
    "square", "ways", "integers", "dollars", "mph", "inches", "ft", "hours", "km", "units", "\\ldots",
    "sue", "points", "feet", "minutes", "digits", "cents", "degrees", "cm", "gm", "pounds", "meters",
    "meals", "edges", "students", "childrentickets", "multiples", "\\text{s}", "\\text{.}",
    "\\text{\ns}", "\\text{}^2", "\\text{}^3", "\\text{\n}", "\\text{}", r"\mathrm{th}", r"^\circ",
    r"^{\circ}", r"\;", r",\!", "{,}", '"', "\\dots",
]
# the closing sentence may be cut off: "I hope it is correct." is a stop sequence of the base prompt
_FINAL_ANSWER = re.compile(r"Final Answer: The final answer is(.*?)(?:\.\s*I hope it is correct\.|\.?\s*$)", re.S)


def last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}`` / ``\\fbox{...}`` (braces balanced), or of
    ``\\boxed x`` up to the next ``$``; None when there is none."""
    idx = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if idx < 0:
        return None
    rest = text[idx:]
    if rest.startswith("\\boxed "):
        return rest[len("\\boxed "):].split("$")[0].strip()
    start = rest.find("{")
    if start < 0:
        return None
    depth = 0
    for i in range(start, len(rest)):
        if rest[i] == "{":
            depth += 1
        elif rest[i] == "}":
            depth -= 1
            if depth == 0:
                return rest[start + 1:i]
    return None


def extract_math_answer(generation: str) -> str | None:
    """Minerva's "Final Answer" sentence if present, else the last boxed expression."""
    match = _FINAL_ANSWER.search(generation)
    if match:
        inner = match.group(1).strip()
        boxed = last_boxed(inner)
        return boxed if boxed is not None else inner
    return last_boxed(generation)


def normalize_final_answer(answer: str) -> str:
    """Minerva's normalisation, step for step (its quirks included, e.g. removing ``ft``)."""
    answer = answer.split("=")[-1]
    for before, after in SUBSTITUTIONS:
        answer = answer.replace(before, after)
    for expr in REMOVED_EXPRESSIONS:
        answer = answer.replace(expr, "")
    answer = re.sub(r"(.*?)(\$)(.*?)(\$)(.*)", "$\\3$", answer)
    answer = re.sub(r"(\\text\{)(.*?)(\})", "\\2", answer)
    answer = re.sub(r"(\\textbf\{)(.*?)(\})", "\\2", answer)
    answer = re.sub(r"(\\overline\{)(.*?)(\})", "\\2", answer)
    answer = re.sub(r"(\\boxed\{)(.*)(\})", "\\2", answer)
    answer = re.sub(r"(frac)([^{])(.)", "frac{\\2}{\\3}", answer)
    answer = re.sub(r"(sqrt)([^{])", "sqrt{\\2}", answer)
    answer = answer.replace("$", "")
    if answer.replace(",", "").isdigit():
        answer = answer.replace(",", "")
    return answer


def _fix_fracs(string: str) -> str:
    parts = string.split("\\frac")
    out = parts[0]
    for part in parts[1:]:
        out += "\\frac"
        if part[:1] == "{":
            out += part
            continue
        if len(part) < 2:
            return string
        a, b = part[0], part[1]
        if b != "{":
            out += "{" + a + "}{" + b + "}" + part[2:]
        else:
            out += "{" + a + "}" + b + part[2:]
    return out


def _fix_a_slash_b(string: str) -> str:
    parts = string.split("/")
    if len(parts) != 2:
        return string
    try:
        a, b = int(parts[0]), int(parts[1])
    except ValueError:
        return string
    if string != f"{a}/{b}":
        return string
    return "\\frac{" + str(a) + "}{" + str(b) + "}"


def _fix_sqrt(string: str) -> str:
    if "\\sqrt" not in string:
        return string
    parts = string.split("\\sqrt")
    out = parts[0]
    for part in parts[1:]:
        if part and part[0] != "{":
            out += "\\sqrt{" + part[0] + "}" + part[1:]
        else:
            out += "\\sqrt" + part
    return out


def strip_string(string: str) -> str:
    """Hendrycks et al.'s MATH normalisation (``math_equivalence.strip_string``)."""
    string = string.replace("\n", "").replace("\\!", "").replace("\\\\", "\\")
    string = string.replace("tfrac", "frac").replace("dfrac", "frac")
    string = string.replace("\\left", "").replace("\\right", "")
    string = string.replace("^{\\circ}", "").replace("^\\circ", "")
    string = string.replace("\\$", "")
    if "\\text{ " in string:
        string = string.split("\\text{ ")[0]
    string = string.replace("\\%", "").replace("%", "")
    string = string.replace(" .", " 0.").replace("{.", "{0.")
    if not string:
        return string
    if string[0] == ".":
        string = "0" + string
    halves = string.split("=")
    if len(halves) == 2 and len(halves[0]) <= 2:
        string = halves[1]
    string = _fix_sqrt(string)
    string = string.replace(" ", "")
    string = _fix_fracs(string)
    if string == "0.5":
        string = "\\frac{1}{2}"
    return _fix_a_slash_b(string)


def _as_number(string: str) -> Fraction | None:
    string = string.replace(",", "").strip()
    match = re.fullmatch(r"(-?)\\frac\{(-?\d+)\}\{(-?\d+)\}", string)
    try:
        if match:
            value = Fraction(int(match.group(2)), int(match.group(3)))
            return -value if match.group(1) else value
        return Fraction(string)
    except (ValueError, ZeroDivisionError):
        return None


def math_equivalent(prediction: str | None, gold: str) -> bool:
    """Equal after Minerva normalisation, after ``strip_string`` on top, or as numbers."""
    if prediction is None:
        return False
    a, b = normalize_final_answer(prediction), normalize_final_answer(gold)
    if a == b:
        return True
    a2, b2 = strip_string(a), strip_string(b)
    if a2 == b2:
        return True
    na, nb = _as_number(a2), _as_number(b2)
    return na is not None and na == nb
