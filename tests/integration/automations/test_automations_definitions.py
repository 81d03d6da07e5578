"""Defining automations: every mistake refused at definition time with its field and reason,
nothing written; obvious cycles refused; YAML in and out; the shipped defaults."""

from __future__ import annotations

import pytest
import yaml
from conftest import EXAMPLE
from kith import KithError
from kith.testing import count_rows


async def _refused(kith_app, run_command, definition, *, actor=None) -> KithError:
    before = await count_rows(kith_app, "automations")
    with pytest.raises(KithError) as info:
        await run_command("automation.create", {"definition": definition}, actor=actor)
    assert await count_rows(kith_app, "automations") == before
    assert await count_rows(kith_app, "automation_versions") == 0
    return info.value


def _example(**changes):
    definition = yaml.safe_load(EXAMPLE)
    definition.update(changes)
    return definition


def _field(err: KithError) -> tuple[str, str]:
    return err.fields[0].field, err.fields[0].message


async def test_an_unknown_event_is_refused_with_a_suggestion(kith_app, run_command):
    err = await _refused(kith_app, run_command, _example(when="deal.stage_chagned"))
    field, message = _field(err)
    assert field == "definition.when"
    assert "'deal.stage_chagned' is not an event" in message
    assert "Did you mean deal.stage_changed" in message


async def test_an_unknown_field_in_a_condition_is_refused_naming_the_known_ones(
    kith_app, run_command
):
    definition = _example(**{"if": {"field": "stag", "equals": "Discovery"}})
    field, message = _field(await _refused(kith_app, run_command, definition))
    assert field == "definition.if.field"
    assert "deal has no field 'stag'" in message and "stage" in message


async def test_a_comparison_of_the_wrong_type_is_refused(kith_app, run_command):
    definition = _example(
        **{
            "if": {
                "all": [
                    {"field": "stage", "equals": "Discovery"},
                    {"field": "value", "greater_than": "lots"},
                ]
            }
        }
    )
    field, message = _field(await _refused(kith_app, run_command, definition))
    assert field == "definition.if.all.1.greater_than"
    assert "needs a number, not 'lots'" in message


async def test_an_ordering_comparison_on_text_is_refused(kith_app, run_command):
    definition = _example(**{"if": {"field": "title", "greater_than": 3}})
    field, message = _field(await _refused(kith_app, run_command, definition))
    assert field == "definition.if.greater_than"
    assert "title is text: greater_than does not apply" in message


async def test_an_action_whose_settings_fail_validation_is_refused(kith_app, run_command):
    definition = _example(then=[{"create_task": {"titel": "Call them"}}])
    err = await _refused(kith_app, run_command, definition)
    fields = {f.field: f.message for f in err.fields}
    assert fields["definition.then.0.create_task.titel"] == "is not a known field"
    assert fields["definition.then.0.create_task.title"] == "is required"


async def test_a_bad_relative_due_date_is_refused(kith_app, run_command):
    definition = _example(then=[{"create_task": {"title": "Call", "due": "+2 fortnights"}}])
    field, message = _field(await _refused(kith_app, run_command, definition))
    assert field == "definition.then.0.create_task.due"
    assert "not a duration" in message


async def test_an_unknown_action_is_refused_with_the_list_of_actions(kith_app, run_command):
    definition = _example(then=[{"create_tsk": {"title": "x"}}])
    field, message = _field(await _refused(kith_app, run_command, definition))
    assert field == "definition.then.0.create_tsk"
    assert "Did you mean create_task" in message


async def test_a_bad_wait_is_refused(kith_app, run_command):
    definition = _example(then=[{"wait": "until lunchtime"}])
    field, message = _field(await _refused(kith_app, run_command, definition))
    assert field == "definition.then.0.wait"
    assert "until 9am next business day" in message


async def test_a_broken_template_is_refused(kith_app, run_command):
    definition = _example(then=[{"post_to_slack": {"channel": "#x", "text": "{{ deal.title"}}])
    field, message = _field(await _refused(kith_app, run_command, definition))
    assert field == "definition.then.0.post_to_slack.text"
    assert "template error" in message


async def test_setting_a_field_the_record_does_not_have_is_refused(kith_app, run_command):
    definition = _example(then=[{"set_field": {"field": "stage", "value": "Proposal"}}])
    field, message = _field(await _refused(kith_app, run_command, definition))
    assert field == "definition.then.0.set_field.field"
    assert "deal.stage cannot be set" in message and "move_deal" in message


async def test_an_automation_cannot_do_what_its_author_may_not(kith_app, run_command, make_actor):
    manager = await make_actor("manager")
    definition = _example(
        then=[{"run_command": {"command": "user.update", "input": {"user": 1, "role": "admin"}}}]
    )
    err = await _refused(kith_app, run_command, definition, actor=manager)
    assert err.fields[0].code == "forbidden"
    assert "users.admin" in err.fields[0].message


async def test_an_agent_may_not_define_automations(kith_app, run_command, make_actor):
    agent = await make_actor("agent")
    err = await _refused(kith_app, run_command, EXAMPLE, actor=agent)
    assert err.code == "forbidden"


async def test_a_duplicate_name_is_refused(kith_app, run_command):
    await run_command("automation.create", {"definition": EXAMPLE})
    with pytest.raises(KithError) as info:
        await run_command("automation.create", {"definition": EXAMPLE})
    assert info.value.fields[0].field == "definition.name"
    assert await count_rows(kith_app, "automations") == 1


A_TASK_PER_DEAL = """
name: A task per new deal
when: deal.created
then:
  - create_task: {title: "Qualify {{ deal.title }}"}
"""
A_DEAL_PER_TASK = """
name: A deal per new task
when: task.created
then:
  - create_deal: {title: "From {{ task.title }}"}
"""


async def test_two_automations_that_trigger_each_other_are_refused(kith_app, run_command):
    await run_command("automation.create", {"definition": A_TASK_PER_DEAL, "enabled": True})
    with pytest.raises(KithError) as info:
        await run_command("automation.create", {"definition": A_DEAL_PER_TASK, "enabled": True})
    err = info.value
    assert err.fields[0].code == "cycle"
    assert err.fields[0].field == "definition.then.0.create_deal"
    assert "'A deal per new task' → 'A task per new deal'" not in err.message  # names, not quotes
    assert "A deal per new task → A task per new deal → A deal per new task" in err.message
    assert "emits deal.created" in err.message and "emits task.created" in err.message
    assert await count_rows(kith_app, "automations") == 1

    # saved disabled it is harmless; enabling it is refused the same way
    await run_command("automation.create", {"definition": A_DEAL_PER_TASK})
    with pytest.raises(KithError) as info:
        await run_command("automation.enable", {"automation": "A deal per new task"})
    assert info.value.fields[0].code == "cycle"


async def test_yaml_exports_as_it_was_written_and_imports_back_unchanged(run_command):
    await run_command("automation.import", {"yaml": EXAMPLE})
    exported = (await run_command("automation.export", {})).yaml
    assert "- {field: stage, equals: Discovery}" in exported
    assert yaml.safe_load(exported) == {**yaml.safe_load(EXAMPLE), "enabled": False}
    again = await run_command("automation.import", {"yaml": exported})
    assert again.results[0]["result"] == "unchanged"


async def test_importing_a_changed_file_saves_a_new_version(run_command):
    await run_command("automation.import", {"yaml": EXAMPLE})
    changed = EXAMPLE.replace("+2 business days", "+1 business day")
    result = await run_command("automation.import", {"yaml": changed})
    assert result.results[0]["result"] == "updated"
    got = await run_command("automation.get", {"automation": "Follow up qualified deals"})
    assert got.version == 2
    assert got.definition["then"][0]["create_task"]["due"] == "+1 business day"


async def test_yaml_that_is_not_yaml_is_refused_with_its_line(kith_app, run_command):
    with pytest.raises(KithError) as info:
        await run_command("automation.import", {"yaml": "name: x\nwhen: [unclosed\n"})
    assert "line 2" in info.value.message
    assert await count_rows(kith_app, "automations") == 0


async def test_an_import_with_one_bad_automation_imports_none(kith_app, run_command):
    bad = EXAMPLE.replace("Follow up qualified deals", "Second").replace("stage_changed", "nope")
    with pytest.raises(KithError) as info:
        await run_command("automation.import", {"yaml": EXAMPLE + "\n---\n" + bad})
    assert info.value.message.startswith("Second:")
    assert await count_rows(kith_app, "automations") == 0
