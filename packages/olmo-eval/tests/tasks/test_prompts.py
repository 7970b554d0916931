"""Prompts match OLMES v0.1 character for character on sampled instances.

Every expected string below was written by hand from the OLMES task definitions
(allenai/OLMo-Eval ``olmo_eval/tasks/olmes_v0_1``) and the raw dataset fields, not produced by the code."""

from __future__ import annotations

from olmo_eval.tasks import get_task


def first(name: str, **kw):
    task = get_task(name, **kw)
    reqs = [r for r in task.requests() if r.instance == 0]
    return task, reqs


def test_arc_easy_five_shot_context_and_continuations() -> None:
    task, reqs = first("arc_easy")
    expected = (
        "Question: Lichens are symbiotic organisms made of green algae and fungi. What do the green algae "
        "supply to the fungi in this symbiotic relationship?\nAnswer: food\n\n"
        "Question: When a switch is used in an electrical circuit, the switch can\n"
        "Answer: stop and start the flow of current.\n\n"
        "Question: Which of the following is an example of an assistive device?\nAnswer: contact lens\n\n"
        "Question: Rocks are classified as igneous, metamorphic, or sedimentary according to\n"
        "Answer: how they formed\n\n"
        "Question: A chewable calcium carbonate tablet is a common treatment for stomach discomfort. Calcium "
        "carbonate is most likely used as this type of medicine because calcium carbonate\n"
        "Answer: neutralizes digestive acid.\n\n"
        "Question: Which technology was developed most recently?\nAnswer:"
    )
    cond = [r for r in reqs if not r.uncond]
    assert [r.context for r in cond] == [expected] * 4
    assert [r.continuation for r in cond] == [" cellular telephone", " television", " refrigerator", " airplane"]
    # PMI denominators: the same continuations after "Answer:".
    unc = [r for r in reqs if r.uncond]
    assert [(r.context, r.continuation) for r in unc] == [("Answer:", r.continuation) for r in cond]
    assert task.instances()[0].gold == 0 and task.config.primary_metric == "acc_per_char"


def test_arc_easy_mc_zero_shot() -> None:
    _, reqs = first("arc_easy:mc", num_shots=0)
    assert reqs[0].context == ("Question: Which technology was developed most recently?\n A. cellular telephone\n"
                               " B. television\n C. refrigerator\n D. airplane\nAnswer:")
    assert [r.continuation for r in reqs] == [" A", " B", " C", " D"]
    assert not any(r.uncond for r in reqs)


def test_arc_mc_shot_with_numeric_labels_uses_letters() -> None:
    task, reqs = first("arc_easy:mc", num_shots=4)
    assert ("Question: Rocks are classified as igneous, metamorphic, or sedimentary according to\n A. their color\n"
            " B. their shape\n C. how they formed\n D. the minerals they contain\nAnswer: C\n\n") in reqs[0].context


def test_boolq() -> None:
    task, reqs = first("boolq", num_shots=0)
    passage = ("The turkey vulture (Cathartes aura), also known in some North American regions as the turkey buzzard "
               "(or just buzzard), and in some areas of the Caribbean as the John crow or carrion crow, is the most "
               "widespread of the New World vultures. One of three species in the genus Cathartes of the family "
               "Cathartidae, the turkey vulture ranges from southern Canada to the southernmost tip of South America. "
               "It inhabits a variety of open and semi-open areas, including subtropical forests, shrublands, "
               "pastures, and deserts.")
    assert reqs[0].context == passage + "\nQuestion: is a turkey vulture and a buzzard the same thing?\nAnswer:"
    assert [r.continuation for r in reqs if not r.uncond] == [" yes", " no"]
    assert task.instances()[0].gold == 0  # answer True -> "yes"
    _, mc = first("boolq:mc", num_shots=0)
    assert mc[0].context == passage + "\nQuestion: is a turkey vulture and a buzzard the same thing?\n A. yes\n B. no\nAnswer:"


def test_boolq_shot_format() -> None:
    _, reqs = first("boolq", num_shots=1)
    assert reqs[0].context.startswith("Persian language -- Persian (/ˈpɜːrʒən, -ʃən/), also known by its endonym Farsi ")
    assert "the Aramaic alphabet.\nQuestion: do iran and afghanistan speak the same language?\nAnswer: yes\n\nThe turkey" in reqs[0].context


def test_copa_connectors() -> None:
    task, reqs = first("copa", num_shots=0)
    assert reqs[0].context == "The girl found a bug in her cereal therefore"
    assert [r.continuation for r in reqs if not r.uncond] == [" she poured milk in the bowl.", " she lost her appetite."]
    assert task.instances()[0].gold == 1
    # A held-out shot of kind "cause" uses "because".
    _, shot_reqs = first("copa", num_shots=2)
    assert shot_reqs[0].context.startswith(
        "The woman was in a bad mood therefore she told her friend to leave her alone.\n\n"
        "The woman lavished her friend with flattery because she wanted to ask her friend for a favor.\n\n")


def test_hellaswag_preprocessing() -> None:
    task, reqs = first("hellaswag", num_shots=0)
    assert reqs[0].context == (
        "Finance and Business: How to apply for a marriage license in florida. Call your local courthouse. Find the "
        "phone number for your local county courthouse and call to inquire about your county's specific requirements "
        "for getting a marriage license. If an appointment is required, schedule an appointment with the courthouse.")
    assert reqs[0].continuation.startswith(" You may be able to change your name in the county")
    assert task.instances()[0].gold == 3


def test_hellaswag_shot_capitalizes_ctx_b() -> None:
    _, reqs = first("hellaswag", num_shots=3)
    # third OLMES shot: ctx_b "a knife" -> "A knife"; gold ending 3
    assert ("Baking cookies: A female chef in white uniform shows a stack of baking pans in a large kitchen presenting "
            "them. The pans are filled with pastries and loaded into the oven. A knife is used to cut cylinder shaped "
            "dough into rounds.\n\n") in reqs[0].context
    # first shot: "[substeps]" removed inside the gold ending, ". [title]" -> ". "
    assert reqs[0].context.startswith(
        "Health: How to cope with suicidal thoughts. Put off any plans. Promise yourself that you'll wait 48 hours "
        "before doing anything. Remember, thoughts don't have the power to force you to act. Sometimes extreme pain "
        "can distort our perception. Waiting before taking action will give your mind time to clear.\n\n")


def test_hellaswag_mc() -> None:
    _, reqs = first("hellaswag:mc", num_shots=0)
    ctx = reqs[0].context
    # ctx_b is empty: the query keeps the space before the newline, as OLMES's make_mcq_prompt + preprocess does
    assert ctx.startswith("Finance and Business: How to apply for a marriage license in florida. Call your local "
                          "courthouse.")
    assert "with the courthouse. \nChoose the best continuation:\n A. You may be able" in ctx
    assert ctx.endswith("at the state of florida website.\nAnswer:")


def test_openbookqa() -> None:
    _, reqs = first("openbookqa", num_shots=0)
    assert reqs[0].context == ("Question: Frilled sharks and angler fish live far beneath the surface of the ocean, "
                               "which is why they are known as\nAnswer:")
    assert [r.continuation for r in reqs if not r.uncond] == [" Deep sea animals", " fish", " Long Sea Fish",
                                                              " Far Sea Animals"]


def test_piqa_goal() -> None:
    _, reqs = first("piqa", num_shots=0)
    assert reqs[0].context == "Goal: Brown sausages.\nAnswer:"
    assert reqs[0].continuation == (" In a frying pan on medium heat, put a tsp of oil and the sausages in the pan, "
                                    "turning occasionally, and cook until all sides are browned.")
    _, shot = first("piqa", num_shots=1)
    assert shot[0].context == "Goal: how do you stab something?\nAnswer: stick a sharp object through it.\n\nGoal: Brown sausages.\nAnswer:"


def test_sciq_with_empty_support() -> None:
    task, reqs = first("sciq", num_shots=0)
    assert reqs[0].context == "Question: Who proposed the theory of evolution by natural selection?\nAnswer:"
    assert [r.continuation for r in reqs if not r.uncond] == [" Linnaeus", " shaw", " Scopes", " darwin"]
    assert task.instances()[0].gold == 3


def test_winogrande_partial_evaluation() -> None:
    task, reqs = first("winogrande", num_shots=1)
    shot = "John moved the couch from the garage to the backyard to create space. The garage is small.\n\n"
    assert [r.context for r in reqs] == [shot + "Sarah was a much better surgeon than Maria so Sarah",
                                         shot + "Sarah was a much better surgeon than Maria so Maria"]
    assert [r.continuation for r in reqs] == [" always got the easier cases."] * 2
    assert task.instances()[0].gold == 1
    _, mc = first("winogrande:mc", num_shots=0)
    assert mc[0].context == ("Fill in the blank: Sarah was a much better surgeon than Maria so ___ always got the "
                             "easier cases.\n A. Sarah\n B. Maria\nAnswer:")


def test_mmlu_description_and_dev_shots() -> None:
    task, reqs = first("mmlu_global_facts", num_shots=0)
    assert reqs[0].context == ("The following are multiple choice questions (with answers) about global facts.\n\n"
                               "Question: As of 2016, about what percentage of adults aged 18 years or older were "
                               "overweight?\nAnswer:")
    assert [r.continuation for r in reqs] == [" 10%", " 20%", " 40%", " 80%"]
    assert task.config.uncond_prompt is None and task.group == "mmlu"
    _, mc = first("mmlu_anatomy:mc", num_shots=1)
    assert mc[0].context.startswith(
        "The following are multiple choice questions (with answers) about anatomy.\n\n"
        "Question: What is the embryological origin of the hyoid bone?\n A. The first pharyngeal arch\n"
        " B. The first and second pharyngeal arches\n C. The second pharyngeal arch\n"
        " D. The second and third pharyngeal arches\nAnswer: D\n\nQuestion: A lesion causing compression")


def test_primary_metrics_as_olmes() -> None:
    expected = {"arc_easy": "acc_per_char", "arc_challenge": "acc_uncond", "boolq": "acc_raw",
                "hellaswag": "acc_per_char", "openbookqa": "acc_uncond", "piqa": "acc_per_char",
                "winogrande": "acc_raw", "mmlu_anatomy": "acc_per_char", "arc_easy:mc": "acc_raw",
                "mmlu_anatomy:mc": "acc_raw"}
    for name, metric in expected.items():
        assert get_task(name).config.primary_metric == metric, name
