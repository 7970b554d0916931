"""OLMES prompt formats (OLMES v0.1, ``olmo_eval/tasks/olmes_v0_1/utils.py`` in allenai/OLMo-Eval).

Cloze (ranked classification)::

    Question: {question}
    Answer:          + " {choice}"

Multiple choice (lettered, one leading space before each label so " A" is one token)::

    Question: {question}
     A. {choice 1}
     B. {choice 2}
    Answer:          + " A"

Few-shot examples are joined with blank lines; a task description, when there is one, comes first.
"""

from __future__ import annotations

from collections.abc import Sequence

LETTERS = ("A", "B", "C", "D", "E")


def cloze_prompt(question: str, question_prefix: str = "Question: ", answer_prefix: str = "Answer:") -> str:
    return f"{question_prefix}{question}\n{answer_prefix}"


def mc_prompt(question: str, choices: Sequence[str], question_prefix: str = "Question: ",
              choices_prefix: str = "", answer_prefix: str = "Answer:") -> str:
    lines = "\n".join(f" {label}. {text}" for label, text in zip(LETTERS, choices))
    return f"{question_prefix}{question}\n{choices_prefix}{lines}\n{answer_prefix}"


def fewshot_context(query: str, shots: Sequence[tuple[str, str]], description: str | None = None) -> str:
    """``description\\n\\n`` + each shot's ``query + target`` + ``\\n\\n`` + the instance's query."""
    head = f"{description}\n\n" if description else ""
    examples = "".join(f"{q}{t}\n\n" for q, t in shots)
    return head + examples + query
