"""Code generation: HumanEval (Chen et al., 2021) and MBPP (Austin et al., 2021), programs run in the sandbox."""

from __future__ import annotations

import re

from olmo_eval.chat import user_prompt
from olmo_eval.requests import GenInstance
from olmo_eval.tasks.generation import CodeTask
from olmo_eval.tasks.registry import register_task


@register_task("codex_humaneval", folder="codex_humaneval")
class HumanEval(CodeTask):
    """The model completes the function body after the shipped prompt; a completion that restates
    the whole function (chat models often do) replaces the prompt but keeps its imports."""

    def chat_prompt(self, inst: GenInstance) -> str:
        return user_prompt("Complete the following python function.\n\n\n" + inst.doc["prompt"],
                           assistant_prefix="Here is the completed function:\n\n\n```python\n"
                           + inst.doc["prompt"])

    def chat_stop_sequences(self, inst: GenInstance) -> list[str]:
        return ["\n```", "\nclass", "\nif __name__", "\nprint("]

    def gold_continuation(self, inst: GenInstance, style: str) -> str:
        return inst.doc["canonical_solution"]

    def program(self, inst: GenInstance, completion: str) -> str:
        prompt, entry = inst.doc["prompt"], inst.doc["entry_point"]
        if re.search(rf"^def\s+{re.escape(entry)}\s*\(", completion, re.M):
            imports = "\n".join(m.group(0) for m in re.finditer(r"^(?:import|from)\s.*$", prompt, re.M))
            body = imports + "\n\n" + completion
        else:
            body = prompt + completion
        return f"{body}\n\n{inst.doc['test']}\n\ncheck({entry})\n"


@register_task("codex_mbpp", folder="codex_mbpp")
class MBPP(CodeTask):
    """The shipped 3-shot prompt ends in an open code fence; the program is the generated code up to
    the closing fence, then the problem's setup code and its ``assert`` lines."""

    def base_stop_sequences(self, inst: GenInstance) -> list[str]:
        return ["```", '\n"""', "\nassert"]

    def chat_prompt(self, inst: GenInstance) -> str:
        tests = "\n".join(inst.doc["test_list"])
        return user_prompt(f"{inst.doc['text']}\nYour code should pass these tests:\n\n{tests}",
                           assistant_prefix="Here is the completed function:\n\n```python\n")

    def chat_stop_sequences(self, inst: GenInstance) -> list[str]:
        return ["```"]

    def program(self, inst: GenInstance, completion: str) -> str:
        code = completion.split("```")[0]
        setup = inst.doc.get("test_setup_code") or ""
        tests = "\n".join(inst.doc["test_list"])
        return f"{code}\n\n{setup}\n{tests}\n"
