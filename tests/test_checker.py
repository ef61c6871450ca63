"""`linli rules check`: the broken-rule corpus, every problem in one run, logic over conditions, exit codes."""

from __future__ import annotations

import itertools
import random
import shutil
from pathlib import Path

import pytest

from engine import checker
from engine.conditions import Vocabulary, evaluate, parse_condition
from engine.errors import Problem
from engine.loader import DEFAULT_RULES_DIR, check_directory, rule_file_name
from engine.satisfiability import Logic
from service.cli import main
from tests.conftest import ROOT
from tests.test_conditions import _random_condition

BAD_RULES = ROOT / "tests" / "data" / "bad_rules"

# file (under tests/data/bad_rules/), line, column, severity, code, words the message contains
CORPUS = [
    ("tab_indent.yaml", 8, 1, "error", "yaml_tab", ["制表符", "空格"]),
    ("fullwidth_colon.yaml", 5, 9, "error", "yaml_fullwidth_colon", ["全角冒号", "name"]),
    ("yaml11_boolean.yaml", 8, 53, "error", "yaml_ambiguous_bool", ["yes", "true"]),
    ("leading_zero_octal.yaml", 6, 15, "error", "yaml_leading_zero", ["010", "八进制"]),
    ("bom.yaml", 1, 1, "warning", "yaml_bom", ["BOM"]),
    ("alias_bomb.yaml", 3, 4, "error", "yaml_alias", ["锚点", "别名"]),
    ("duplicate_key.yaml", 7, 5, "error", "yaml_duplicate_key", ["when", "第 6 行"]),
    ("duplicate_rule_id.yaml", 10, 9, "error", "duplicate_id", ["bad_twice", "duplicate_rule_id.yaml:4"]),
    ("unknown_field.yaml", 6, 5, "error", "unknown_key_close", ["prority", "priority"]),
    ("unknown_item.yaml", 8, 27, "error", "unknown_item", ["grp_reading_clubs", "grp_reading_club"]),
    ("unknown_segment.yaml", 9, 22, "error", "unknown_segment", ["big_family", "elderly_alone"]),
    ("unknown_tag.yaml", 6, 36, "error", "unknown_tag", ["vulnerabel", "vulnerable"]),
    ("type_mismatch.yaml", 8, 35, "error", "cond_type", ["household.oldest_age", "'65'"]),
    ("weight_not_number.yaml", 8, 53, "error", "schema", ["应为数字", "high"]),
    ("contradictory_condition.yaml", 8, 11, "error", "rule_never_fires",
     ["household.oldest_age < 30", "household.oldest_age > 60"]),
    ("tag_matched_never_set.yaml", 6, 12, "error", "tag_never_set", ["settled", "bad_settled_tag"]),
    ("conflicting_actions.yaml", 16, 25, "error", "action_conflict",
     ["grp_weekend_hiking", "bad_recommend_hiking", "30"]),
    ("conflicting_segments.yaml", 16, 22, "error", "segment_conflict",
     ["young_professional", "tenant_worker", "bad_segment_renter"]),
    ("eval_call.yaml", 6, 36, "error", "cond_unsupported", ["__import__"]),
    ("catalogue/unreachable_item.yaml", 2, 9, "warning", "item_unreachable_need", ["res_unused_leaflet", "0.33"]),
]


def copy_rules(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, target, ignore=shutil.ignore_patterns("tests", "model"))
    return target


def add_bad_file(rules_dir: Path, name: str) -> Path:
    folder = "catalogue" if name.startswith("catalogue/") else "rulesets"
    target = rules_dir / folder / Path(name).name
    shutil.copyfile(BAD_RULES / name, target)
    return target


def problems_in(problems: list[Problem], path: Path) -> list[Problem]:
    """Problems of `path`, a file in `<rules dir>/<folder>/`, which problems name as `rules/<folder>/<file>`."""
    return [p for p in problems if p.file == rule_file_name(path, path.parent.parent)]


def test_corpus_lists_every_file():
    on_disk = {p.relative_to(BAD_RULES).as_posix() for p in BAD_RULES.rglob("*.yaml")}
    assert on_disk == {case[0] for case in CORPUS}


@pytest.mark.parametrize("name, line, column, severity, code, words", CORPUS, ids=[c[0] for c in CORPUS])
def test_bad_rule_file_reported_at_place(tmp_path, name, line, column, severity, code, words):
    rules_dir = copy_rules(tmp_path)
    bad_file = add_bad_file(rules_dir, name)

    rulebase, problems = check_directory(rules_dir)

    found = problems_in(problems, bad_file)
    assert found, [p.format() for p in problems]
    first = found[0]
    assert (first.line, first.column) == (line, column), first.format()
    assert first.code == code
    assert first.severity == severity
    for word in words:
        assert word in first.message("zh"), first.message("zh")
    assert first.message("en") != first.message("zh")
    assert (rulebase is None) == (severity == "error")
    assert not [p for p in problems if p not in found], "the shipped files must stay clean"


@pytest.mark.parametrize("name", [c[0] for c in CORPUS])
def test_bad_rule_file_shows_caret_under_column(tmp_path, name):
    rules_dir = copy_rules(tmp_path)
    bad_file = add_bad_file(rules_dir, name)
    _, problems = check_directory(rules_dir)
    first = problems_in(problems, bad_file)[0]

    text = first.format("zh")

    location = f"{first.file}:{first.line}:{first.column}"
    assert text.startswith(location)
    source, caret = text.splitlines()[-2:]
    assert caret.strip() == "^"
    assert source.strip() == first.source_line.replace("\t", " ").strip()


def test_five_megabyte_file_rejected_without_reading_it(tmp_path):
    rules_dir = copy_rules(tmp_path)
    big = rules_dir / "rulesets" / "huge.yaml"
    filler = "# " + "填充" * 40 + "\n"
    big.write_text("ruleset: huge\nname: 巨大的文件\n" + filler * (5_000_000 // len(filler.encode())), encoding="utf-8")
    assert big.stat().st_size > 4_900_000

    rulebase, problems = check_directory(rules_dir)

    assert rulebase is None
    [problem] = problems_in(problems, big)
    assert problem.code == "yaml_too_large"
    assert "字节" in problem.message("zh")
    assert str(big.stat().st_size) in problem.message("zh")


def test_all_problems_reported_in_one_run(tmp_path):
    rules_dir = copy_rules(tmp_path)
    names = ["unknown_item.yaml", "contradictory_condition.yaml", "conflicting_actions.yaml", "tab_indent.yaml",
             "unknown_field.yaml", "catalogue/unreachable_item.yaml"]
    for name in names:
        add_bad_file(rules_dir, name)

    _, problems = check_directory(rules_dir)

    files = {Path(p.file).name for p in problems}
    assert files == {Path(n).name for n in names}
    assert problems == sorted(problems, key=lambda p: (p.file or "", p.line or 0, p.column or 0))


def test_invalid_rule_does_not_hide_others_in_file(tmp_path):
    rules_dir = copy_rules(tmp_path)
    (rules_dir / "rulesets" / "mixed.yaml").write_text(
        "ruleset: mixed\nname: 混合\nrules:\n"
        "  - id: mixed_bad_key\n    name: 字段拼错\n    prority: 3\n    when: household.size >= 1\n"
        "    then: [{add_tag: mixed}]\n"
        "  - id: mixed_bad_item\n    name: 项目拼错\n    when: \"'mixed' in tags\"\n"
        "    then: [{recommend: {item: grp_reading_clu, reason: 测试}}]\n",
        encoding="utf-8")

    _, problems = check_directory(rules_dir)

    assert [(p.code, p.line) for p in problems] == [("unknown_key_close", 6), ("unknown_item", 12)]


def test_shipped_rules_check_clean():
    rulebase, problems = check_directory(DEFAULT_RULES_DIR)
    assert rulebase is not None
    assert problems == []


def test_caret_counts_wide_characters(tmp_path):
    rules_dir = copy_rules(tmp_path)
    (rules_dir / "rulesets" / "wide.yaml").write_text(
        "ruleset: wide\nname: 宽字符\nrules:\n  - id: wide_rule\n    name: 兴趣\n"
        "    when: \"'阅读' in household.interests and household.size >= '两'\"\n"
        "    then: [{add_tag: wide}]\n", encoding="utf-8")

    _, problems = check_directory(rules_dir)

    [problem] = problems
    line = (rules_dir / "rulesets" / "wide.yaml").read_text(encoding="utf-8").splitlines()[5]
    assert (problem.line, problem.column) == (6, line.index("'两'") + 1)
    _, caret = problem.format().splitlines()[-2:]
    wide_characters = 2
    assert caret.index("^") == len("    ") + line.index("'两'") + wide_characters


def test_folded_condition_fault_on_its_own_line(tmp_path):
    rules_dir = copy_rules(tmp_path)
    (rules_dir / "rulesets" / "folded.yaml").write_text(
        "ruleset: folded\nname: 折行\nrules:\n  - id: folded_rule\n    name: 折行条件\n    when: >-\n"
        "      household.size >= 2\n      and household.oldest >= 60\n    then: [{add_tag: folded}]\n",
        encoding="utf-8")

    _, problems = check_directory(rules_dir)

    [problem] = problems
    assert problem.code == "unknown_field"
    assert (problem.line, problem.column) == (8, 11)


def test_recommend_never_eligible_warns(tmp_path):
    rules_dir = copy_rules(tmp_path)
    (rules_dir / "rulesets" / "childless.yaml").write_text(
        "ruleset: childless\nname: 无子女\nrules:\n  - id: childless_sports\n    name: 无子女家庭\n"
        "    when: household.children == 0\n"
        "    then: [{recommend: {item: evt_parent_child_sports_day, reason: 测试}}]\n", encoding="utf-8")

    rulebase, problems = check_directory(rules_dir)

    [problem] = problems
    assert rulebase is not None
    assert problem.code == "recommend_never_eligible"
    assert "household.children == 0" in problem.message()
    assert "household.children >= 1" in problem.message()


def write_many_rules(rules_dir: Path, count: int, when: str) -> None:
    body = "".join(f"  - id: many_{i:04d}\n    name: 多\n    when: \"{when.format(i=i)}\"\n"
                   f"    then: [{{add_tag: many}}]\n" for i in range(count))
    (rules_dir / "rulesets" / "many.yaml").write_text("ruleset: many\nname: 多\nrules:\n" + body, encoding="utf-8")


def test_engine_hang_stopped_and_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(checker, "ENGINE_CHECK_SECONDS", 2.0)
    rules_dir = copy_rules(tmp_path)
    write_many_rules(rules_dir, 600, "household.size >= 1 and 'w{i}' in household.interests")

    rulebase, problems = check_directory(rules_dir)

    assert rulebase is None
    [problem] = problems
    shipped, _ = check_directory(DEFAULT_RULES_DIR)
    assert problem.code == "engine_hang"
    assert f"{600 + len(shipped.rules)} 条规则" in problem.message()


def test_engine_rejects_many_absence_tests(tmp_path):
    rules_dir = copy_rules(tmp_path)
    write_many_rules(rules_dir, 129, "'w{i}' not in household.interests")

    rulebase, problems = check_directory(rules_dir)

    assert rulebase is None
    [problem] = problems
    assert problem.code == "engine_limit"
    assert "107" in problem.message()


def test_engine_rejection_reported_not_raised(tmp_path):
    rules_dir = copy_rules(tmp_path)
    write_many_rules(rules_dir, 300, "household.size >= 2")

    rulebase, problems = check_directory(rules_dir)

    assert rulebase is None
    [problem] = problems
    assert problem.code == "engine_limit"
    assert "108" in problem.message()


# Logic over conditions

VOCABULARY = Vocabulary(segments=("elderly_alone", "general"), tags=("vulnerable",))


def conflicts(text: str):
    return Logic(VOCABULARY).conflicts(parse_condition(text, VOCABULARY))


@pytest.mark.parametrize("text", [
    "household.size >= 3 and household.size < 3",
    "household.oldest_age > 2 and household.oldest_age < 3",
    "needs.health >= 4 and needs.health != 4",
    "household.oldest_age > 130",
    "household.lives_alone and not household.lives_alone",
    "household.tenure == 'owner' and household.tenure in ['tenant', 'employer_housing']",
    "'yoga' in household.interests and 'yoga' not in household.interests",
    "'vulnerable' in tags and not ('vulnerable' in tags)",
    "segment == 'general' and segment != 'general'",
    "(household.size == 1 or household.size == 2) and household.size > 4",
    "false",
    "needs.housing in [0, 1] and needs.housing not in [0, 1]",
    "segment_confidence > 1",
])
def test_logic_finds_contradiction(text):
    assert conflicts(text) is not None


@pytest.mark.parametrize("text", [
    "household.size >= 3 and household.size <= 3",
    "household.oldest_age > 2.5 and household.oldest_age < 3.5",
    "needs.health >= 3 and needs.health != 4",
    "(household.size == 1 or household.size == 5) and household.size > 4",
    "household.lives_alone and household.size >= 2",
    "'yoga' in household.interests and 'reading' not in household.interests",
    "segment != 'general'",
    "true",
])
def test_logic_accepts_satisfiable(text):
    assert conflicts(text) is None


def test_logic_names_both_leaves():
    [conflict] = conflicts("household.size >= 3 and needs.health >= 2 and household.size < 2")
    assert [leaf.text for leaf in conflict.leaves] == ["household.size >= 3", "household.size < 2"]


def _brute_force_facts():
    """Every combination of the fields `_random_condition` reads, over the values it compares with."""
    for size, lives_alone, tenure, interests, health, tag, segment in itertools.product(
            range(1, 6), (True, False), ("owner", "tenant", "employer_housing"),
            ([], ["yoga"], ["reading"], ["yoga", "reading"]), range(-1, 5), (True, False), VOCABULARY.segments):
        yield {"household.size": size, "household.lives_alone": lives_alone, "household.tenure": tenure,
               "household.interests": interests, "needs.health": health, "tag.vulnerable": tag, "segment": segment}


def test_logic_never_calls_satisfiable_condition_contradictory():
    rng = random.Random(11)
    logic = Logic(VOCABULARY)
    facts = list(_brute_force_facts())
    unsatisfiable = 0
    for _ in range(300):
        text = _random_condition(rng).replace("'young_children'", "'vulnerable'").replace("'newlyweds'", "'general'")
        condition = parse_condition(text, VOCABULARY)
        if logic.conflicts(condition) is not None:
            unsatisfiable += 1
            assert not any(evaluate(condition, fact) for fact in facts), text
    assert unsatisfiable > 0


# Exit codes


def test_check_exit_codes(tmp_path, capsys):
    rules_dir = copy_rules(tmp_path)
    assert main(["rules", "check", str(rules_dir)]) == 0

    add_bad_file(rules_dir, "catalogue/unreachable_item.yaml")
    assert main(["rules", "check", str(rules_dir)]) == 0
    assert "1 个警告" in capsys.readouterr().err

    add_bad_file(rules_dir, "unknown_item.yaml")
    assert main(["rules", "check", str(rules_dir)]) == 1
    err = capsys.readouterr().err
    assert "unknown_item.yaml:8:27" in err
    assert "1 个错误，1 个警告" in err

    with pytest.raises(SystemExit) as info:
        main(["rules", "check", "--no-such-option"])
    assert info.value.code == 2


def test_check_json_lists_problems(tmp_path, capsys):
    rules_dir = copy_rules(tmp_path)
    add_bad_file(rules_dir, "contradictory_condition.yaml")

    code = main(["rules", "check", str(rules_dir), "--format", "json", "--lang", "en"])

    import json
    payload = json.loads(capsys.readouterr().out)
    assert code == 1
    assert payload["errors"] == 1
    [problem] = payload["problems"]
    assert (problem["line"], problem["column"], problem["code"]) == (8, 11, "rule_never_fires")
    assert "can never hold" in problem["message"]
