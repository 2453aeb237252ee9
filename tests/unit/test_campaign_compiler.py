"""The workflow compiler: each block type's ASL, the payload contract, Retry/Catch, and a sanity check of
every machine (what AWS's validator would refuse). The machines run on moto in
tests/integration/test_campaign_workflows.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nudge.campaigns import compiler, steps
from nudge.campaigns.compiler import CompileError, compile_workflow
from tests.support.campaign_workflows import asl_problems, definition, tasks

PRO = {"attribute": {"field": "plan", "operator": "eq", "value": "pro"}}
COMMON = {
    "workspace_id.$": "$.workspace_id",
    "campaign_id.$": "$.campaign_id",
    "cio_id.$": "$.cio_id",
    "execution.$": "$$.Execution.Name",
    "entered_at.$": "$.entered_at",
    "trigger.$": "$.trigger",
}
SEND = {"type": "send", "channel": "email", "template_id": "1"}

EVERY_BLOCK = {
    "b1": {**SEND, "next": "b2"},
    "b2": {"type": "delay", "seconds": 86400, "next": "b3"},
    "b3": {"type": "branch", "condition": PRO, "true": "b4", "false": "b5"},
    "b4": {
        "type": "wait_until",
        "condition": PRO,
        "max_seconds": 604800,
        "poll_seconds": 3600,
        "on_timeout": "exit",
        "next": "b6",
    },
    "b5": {"type": "time_window", "hours": [9, 17], "days": ["mon", "tue"], "next": "b6"},
    "b6": {"type": "multi_split", "branches": [{"condition": PRO, "next": "b7"}], "default": "b8"},
    "b7": {
        "type": "random_split",
        "branches": [{"percent": 50, "next": "b8"}, {"percent": 50, "next": "b9"}],
    },
    "b8": {"type": "set_attribute", "attribute": "onboarded", "value": True, "next": "b9"},
    "b9": {"type": "segment", "action": "add", "segment_id": "3", "next": "b10"},
    "b10": {"type": "exit"},
}


def compiled(blocks: dict[str, Any], **kw: Any) -> dict[str, Any]:
    asl = compile_workflow("c1", 3, definition(blocks, **kw))
    assert asl_problems(asl) == []
    json.dumps(asl)  # plain JSON
    return asl


def states(asl: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(asl["States"])


def test_every_block_type_compiles_to_a_sound_machine() -> None:
    asl = compiled(EVERY_BLOCK, filters=PRO, exit="on_goal", goal={"event": "purchased"})

    assert asl["StartAt"] == "journey.enter"
    assert asl["Comment"] == "Nudge campaign c1 version 3"
    assert {f"block.b{n}" for n in range(1, 11)} <= set(asl["States"])
    assert "journey.completed" not in asl["States"]  # every path ends at the exit block: unreachable


def test_every_task_carries_the_payload_contract_retry_and_catch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(compiler.FUNCTION_ENV, raising=False)
    asl = compiled(EVERY_BLOCK, filters=PRO, exit="on_goal", goal={"event": "purchased"})

    for name, state in states(asl).items():
        if state["Type"] != "Task":
            continue
        assert state["Resource"] == "arn:aws:states:::lambda:invoke"
        assert state["Parameters"]["FunctionName"] == "nudge-campaigns"
        payload = state["Parameters"]["Payload"]
        assert payload.items() >= COMMON.items(), name
        assert payload["action"] in {
            "enter",
            "end",
            "send",
            "check",
            "condition",
            "split",
            "cohort",
            "window",
            "set_attribute",
            "segment",
        }
        assert ("block" in payload) != ("block.$" in payload), name
        assert state["ResultSelector"] == {"value.$": "$.Payload"}
        assert state["ResultPath"] == "$.step"
        retry, storage = state["Retry"]
        assert set(retry["ErrorEquals"]) == {
            "Lambda.ServiceException",
            "Lambda.AWSLambdaException",
            "Lambda.SdkClientException",
            "Lambda.TooManyRequestsException",
        }
        assert retry["BackoffRate"] > 1
        # A step's transient storage error, by the class name Lambda reports as its errorType.
        assert storage["ErrorEquals"] == [steps.TransientStorageError.__name__]
        assert storage["BackoffRate"] > 1 and storage["MaxAttempts"] >= 3
        if name == "journey.failed":
            assert "Catch" not in state
            assert state["Next"] == "journey.fail"
            assert payload["error.$"] == "$.error"
        else:
            assert state["Catch"] == [
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "journey.failed"}
            ]


def test_the_function_comes_from_the_environment_or_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    arn = "arn:aws:lambda:eu-west-1:123456789012:function:nudge-prod-campaigns"
    monkeypatch.setenv(compiler.FUNCTION_ENV, arn)
    by_env = compile_workflow("c1", 1, definition({"b1": SEND}))
    by_caller = compile_workflow("c1", 1, definition({"b1": SEND}), function="other")

    assert {s["Parameters"]["FunctionName"] for s in by_env["States"].values() if s["Type"] == "Task"} == {
        arn
    }
    assert {s["Parameters"]["FunctionName"] for s in by_caller["States"].values() if s["Type"] == "Task"} == {
        "other"
    }


def test_enter_is_first_and_a_path_ends_in_end_then_succeed() -> None:
    s = states(compiled({"b1": SEND}))

    assert s["journey.enter"]["Parameters"]["Payload"]["action"] == "enter"
    assert s["journey.enter"]["Parameters"]["Payload"]["block"] is None
    assert s["journey.enter"]["Next"] == "block.b1"
    assert s["block.b1"]["Next"] == "journey.completed"
    assert s["journey.completed"]["Parameters"]["Payload"]["outcome"] == "completed"
    assert s["journey.completed"]["Next"] == "journey.done"
    assert s["journey.done"] == {"Type": "Succeed"}
    assert s["journey.fail"]["Type"] == "Fail"
    # No wait, so no check, so the check's ends are unreachable and left out.
    assert set(s) == {
        "journey.enter",
        "block.b1",
        "journey.completed",
        "journey.failed",
        "journey.done",
        "journey.fail",
    }


def test_send_embeds_what_the_step_needs_from_this_version() -> None:
    s = states(compiled({"b1": {**SEND, "topic_id": 4}}, filters=PRO, name="Welcome"))

    payload = s["block.b1"]["Parameters"]["Payload"]
    assert payload == {
        "action": "send",
        **COMMON,
        "version": 3,
        "block": "b1",
        "channel": "email",
        "template_id": "1",
        "campaign_name": "Welcome",
        "topic": "topic_4",  # as a profile's preferences name the block's subscription topic
        "filters": PRO,
    }


def test_delay_waits_then_checks_then_goes_on_or_ends() -> None:
    s = states(
        compiled(
            {"b1": {"type": "delay", "seconds": 86400, "next": "b2"}, "b2": SEND},
            filters=PRO,
            exit="when_unmatched",
            goal={"segment_id": "9"},
            goal_window_seconds=3600,
        )
    )

    assert s["block.b1"] == {"Type": "Wait", "Seconds": 86400, "Next": "block.b1.check"}
    check = s["block.b1.check"]["Parameters"]["Payload"]
    assert (check["action"], check["block"], check["filters"], check["goal"]) == (
        "check",
        "b1",
        PRO,
        {"segment_id": "9"},
    )
    assert check["settings"] == {"exit": "when_unmatched", "goal_window_seconds": 3600}
    assert s["block.b1.check"]["Next"] == "block.b1.checked"
    checked = s["block.b1.checked"]
    assert checked["Type"] == "Choice"
    assert checked["Default"] == "block.b2"
    assert [rule["Next"] for rule in checked["Choices"]] == ["journey.converted", "journey.exited"]
    assert checked["Choices"][1] == {
        "Variable": "$.step.value.exit",
        "BooleanEquals": True,
        "Next": "journey.exited",
    }
    # The shared ends take the block that ended the journey from the check's answer.
    assert s["journey.exited"]["Parameters"]["Payload"]["block.$"] == "$.step.value.block"
    assert s["journey.converted"]["Parameters"]["Payload"]["outcome"] == "converted"


def test_branch_routes_on_matched() -> None:
    s = states(
        compiled(
            {"b1": {"type": "branch", "condition": PRO, "true": "b2"}, "b2": SEND},
        )
    )

    assert s["block.b1"]["Parameters"]["Payload"]["action"] == "condition"
    assert s["block.b1"]["Parameters"]["Payload"]["condition"] == PRO
    assert s["block.b1"]["Next"] == "block.b1.route"
    assert s["block.b1.route"] == {
        "Type": "Choice",
        "Choices": [{"Variable": "$.step.value.matched", "BooleanEquals": True, "Next": "block.b2"}],
        "Default": "journey.completed",  # no "false" edge: the journey ends
    }


def test_multi_split_routes_on_the_branch_index_with_the_default_last() -> None:
    other = {"attribute": {"field": "plan", "operator": "eq", "value": "free"}}
    s = states(
        compiled(
            {
                "b1": {
                    "type": "multi_split",
                    "branches": [{"condition": PRO, "next": "b2"}, {"condition": other, "next": "b3"}],
                    "default": "b3",
                },
                "b2": SEND,
                "b3": SEND,
            }
        )
    )

    assert s["block.b1"]["Parameters"]["Payload"]["conditions"] == [PRO, other]
    assert s["block.b1.route"]["Choices"] == [
        {"Variable": "$.step.value.branch", "NumericEquals": 0, "Next": "block.b2"},
        {"Variable": "$.step.value.branch", "NumericEquals": 1, "Next": "block.b3"},
    ]
    assert s["block.b1.route"]["Default"] == "block.b3"


def test_random_split_embeds_the_percentages_and_defaults_to_the_last_branch() -> None:
    s = states(
        compiled(
            {
                "b1": {
                    "type": "random_split",
                    "branches": [
                        {"percent": 10, "next": "b2"},
                        {"percent": 20},
                        {"percent": 70, "next": "b3"},
                    ],
                },
                "b2": SEND,
                "b3": SEND,
            }
        )
    )

    assert s["block.b1"]["Parameters"]["Payload"]["action"] == "cohort"
    assert s["block.b1"]["Parameters"]["Payload"]["percents"] == [10, 20, 70]
    assert [rule["Next"] for rule in s["block.b1.route"]["Choices"]] == ["block.b2", "journey.completed"]
    assert s["block.b1.route"]["Default"] == "block.b3"


@pytest.mark.parametrize(
    ("block", "polls", "on_timeout"),
    [
        ({"max_seconds": 7200, "poll_seconds": 3600, "on_timeout": "continue"}, 2, "block.b1.check"),
        ({"max_seconds": 5000, "poll_seconds": 3600, "on_timeout": "exit"}, 2, "block.b1.timeout"),
        ({"max_seconds": 600, "poll_seconds": 3600, "on_timeout": "continue"}, 1, "block.b1.check"),
    ],
)
def test_wait_until_polls_counts_and_times_out(block: dict[str, Any], polls: int, on_timeout: str) -> None:
    s = states(compiled({"b1": {"type": "wait_until", "condition": PRO, "next": "b2", **block}, "b2": SEND}))

    assert s["block.b1"] == {
        "Type": "Pass",
        "Result": {"value": {"poll": 0}},
        "ResultPath": "$.step",
        "Next": "block.b1.poll",
    }
    poll = s["block.b1.poll"]
    assert poll["Parameters"]["Payload"]["action"] == "condition"
    assert poll["Parameters"]["Payload"]["poll.$"] == "States.MathAdd($.step.value.poll, 1)"
    assert poll["Next"] == "block.b1.polled"
    polled = s["block.b1.polled"]
    assert polled["Default"] == "block.b1.wait"
    assert polled["Choices"][0]["Next"] == "block.b2"  # matched at the first poll: no wait, no re-check
    assert polled["Choices"][1] == {
        "Variable": "$.step.value.matched",
        "BooleanEquals": True,
        "Next": "block.b1.check",
    }
    assert polled["Choices"][2] == {
        "Variable": "$.step.value.poll",
        "NumericGreaterThan": polls,
        "Next": on_timeout,
    }
    assert s["block.b1.wait"] == {
        "Type": "Wait",
        "Seconds": min(3600, block["max_seconds"]),  # integer Seconds: the local runtime scales them
        "Next": "block.b1.poll",
    }
    if on_timeout == "block.b1.timeout":
        timeout = s["block.b1.timeout"]["Parameters"]["Payload"]
        assert (timeout["action"], timeout["outcome"], timeout["block"]) == ("end", "exited", "b1")


def test_wait_until_without_a_maximum_waits_for_ever() -> None:
    s = states(
        compiled(
            {"b1": {"type": "wait_until", "condition": PRO, "poll_seconds": 3600, "next": "b2"}, "b2": SEND}
        )
    )

    assert len(s["block.b1.polled"]["Choices"]) == 2
    assert "block.b1.timeout" not in s


def test_time_window_waits_the_seconds_the_step_answers() -> None:
    s = states(
        compiled(
            {"b1": {"type": "time_window", "hours": [9, 17], "days": ["mon"], "next": "b2"}, "b2": SEND},
            timezone="Europe/Berlin",
        )
    )

    payload = s["block.b1"]["Parameters"]["Payload"]
    assert (payload["action"], payload["hours"], payload["days"], payload["timezone"]) == (
        "window",
        [9, 17],
        ["mon"],
        "Europe/Berlin",
    )
    assert s["block.b1.open"]["Choices"] == [
        {"Variable": "$.step.value.wait_seconds", "NumericGreaterThan": 0, "Next": "block.b1.wait"}
    ]
    assert s["block.b1.open"]["Default"] == "block.b2"  # open now: no wait, no re-check
    assert s["block.b1.wait"] == {
        "Type": "Wait",
        "SecondsPath": "$.step.value.wait_seconds",
        "Next": "block.b1.check",
    }


def test_set_attribute_and_segment() -> None:
    s = states(
        compiled(
            {
                "b1": {"type": "set_attribute", "attribute": "prefs", "value": {"a.$": 1}, "next": "b2"},
                "b2": {"type": "segment", "action": "remove", "segment_id": "4"},
            }
        )
    )

    first = s["block.b1"]["Parameters"]["Payload"]
    assert (first["attribute"], json.loads(first["value_json"])) == ("prefs", {"a.$": 1})
    second = s["block.b2"]["Parameters"]["Payload"]
    assert (second["action"], second["operation"], second["segment_id"]) == ("segment", "remove", "4")


def test_an_exit_block_ends_through_its_own_end_task() -> None:
    s = states(compiled({"b1": {"type": "exit"}}))

    payload = s["block.b1"]["Parameters"]["Payload"]
    assert (payload["action"], payload["outcome"], payload["block"]) == ("end", "exited", "b1")
    assert s["block.b1"]["Next"] == "journey.done"


def test_a_send_on_a_cycle_tells_its_visits_apart() -> None:
    s = states(
        compiled(
            {
                "b1": {"type": "branch", "condition": PRO, "true": "b4", "false": "b2"},
                "b2": {**SEND, "next": "b3"},
                "b3": {"type": "delay", "seconds": 86400, "next": "b1"},
                "b4": SEND,
            }
        )
    )

    assert s["block.b2"]["Parameters"]["Payload"]["visit.$"] == "$$.State.EnteredTime"
    assert "visit.$" not in s["block.b4"]["Parameters"]["Payload"]
    assert s["block.b3.checked"]["Default"] == "block.b1"


def test_long_block_ids_still_make_valid_state_names() -> None:
    long_id = "x" * 64
    asl = compiled({long_id: {"type": "delay", "seconds": 60}})

    assert f"block.{long_id}.checked" in asl["States"]


def test_unreachable_blocks_are_left_out() -> None:
    asl = compiled({"b1": SEND, "orphan": SEND})

    assert "block.orphan" not in asl["States"]


@pytest.mark.parametrize(
    ("blocks", "message"),
    [
        ({"b1": {"type": "teleport"}}, "unknown type"),
        ({"b1": {**SEND, "next": "b9"}}, "unknown block"),
        ({"b1": {"type": "delay", "seconds": 1.5}}, "seconds must be an integer"),
        ({"b1": {"type": "branch", "condition": {"attribute": {"field.$": "x"}}}}, "cannot be embedded"),
        ({"b1": {"type": "segment", "action": "toggle", "segment_id": "1"}}, "add or remove"),
        ({"b1": {"type": "multi_split", "branches": []}}, "needs branches"),
    ],
)
def test_what_cannot_be_compiled_is_refused(blocks: dict[str, Any], message: str) -> None:
    with pytest.raises(CompileError, match=message):
        compile_workflow("c1", 1, definition(blocks))


def test_a_start_that_is_no_block_is_refused() -> None:
    with pytest.raises(CompileError, match="start"):
        compile_workflow("c1", 1, definition({"b1": SEND}, start="b2"))


def test_the_sanity_check_catches_what_aws_refuses() -> None:
    bad = {
        "StartAt": "a",
        "States": {
            "a": {"Type": "Choice", "Choices": [{"Variable": "$.x", "BooleanEquals": True, "Next": "gone"}]},
            "b c": {"Type": "Pass", "End": True},
            "d": {"Type": "Wait", "Seconds": -1, "Next": "a"},
        },
    }

    problems = asl_problems(bad)

    assert "a: transition to missing state gone" in problems
    assert "a: a Choice without Default fails on no match" in problems
    assert "b c: not a valid state name" in problems
    assert "d: Seconds must be a non-negative integer" in problems
    assert "d: unreachable" in problems


def test_standard_workflows() -> None:
    assert compiler.STATE_MACHINE_TYPE == "STANDARD"
    assert tasks(compiled({"b1": SEND}))["block.b1"]["action"] == "send"


# -- waiting: which Tasks count a person in at which wait ----------------------------------------------

DELAY = {"type": "delay", "seconds": 86400}


def test_the_task_before_a_delay_carries_it_for_each_outcome_that_leads_there() -> None:
    never = {"attribute": {"field": "plan", "operator": "eq", "value": "never"}}
    payloads = tasks(
        compiled(
            {
                "d1": {**DELAY, "next": "d2"},  # the start: enter leads into it
                "d2": {**DELAY, "next": "b1"},  # a check leads from one delay into the next
                "b1": {"type": "branch", "condition": PRO, "true": "d3", "false": "s1"},
                "d3": {**DELAY, "next": "m1"},
                "s1": {**SEND, "next": "d3"},
                "m1": {
                    "type": "multi_split",
                    "branches": [{"condition": PRO, "next": "s2"}, {"condition": never, "next": "d4"}],
                    "default": "d4",
                },
                "s2": {**SEND, "next": "r1"},
                "r1": {"type": "random_split", "branches": [{"percent": 50, "next": "d5"}, {"percent": 50}]},
                "d4": {**DELAY, "next": "a1"},
                "a1": {"type": "set_attribute", "attribute": "x", "value": 1, "next": "g1"},
                "g1": {"type": "segment", "action": "add", "segment_id": "3", "next": "d5"},
                "d5": DELAY,
            }
        )
    )

    assert payloads["journey.enter"]["waits"] == {"next": "d1"}
    assert payloads["block.d1.check"]["waits"] == {"next": "d2"}
    assert "waits" not in payloads["block.d2.check"]  # a branch follows: nobody waits there
    assert payloads["block.b1"]["waits"] == {"true": "d3"}  # false leads to a send
    assert payloads["block.s1"]["waits"] == {"next": "d3"}
    assert payloads["block.m1"]["waits"] == {"1": "d4", "default": "d4"}
    assert payloads["block.r1"]["waits"] == {"0": "d5"}
    assert "waits" not in payloads["block.s2"]
    assert "waits" not in payloads["block.a1"]  # into a segment block
    assert payloads["block.g1"]["waits"] == {"next": "d5"}
    assert "waits" not in payloads["block.d5.check"]  # the journey ends
    for name in ("journey.completed", "journey.exited", "journey.converted", "journey.failed"):
        assert "waits" not in payloads[name]


def test_a_wait_until_s_poll_and_a_time_window_s_step_carry_their_own_block() -> None:
    payloads = tasks(
        compiled(
            {
                "w1": {"type": "wait_until", "condition": PRO, "poll_seconds": 60, "next": "t1"},
                "t1": {"type": "time_window", "hours": [9, 17], "next": "d1"},
                "d1": {**DELAY, "next": "w2"},
                "w2": {"type": "wait_until", "condition": PRO, "poll_seconds": 60, "next": "d2"},
                "d2": DELAY,
            }
        )
    )

    assert "waits" not in payloads["journey.enter"]  # the wait_until counts itself: its first poll
    assert payloads["block.w1.poll"]["waits"] == {"false": "w1"}
    assert "waits" not in payloads["block.w1.check"]  # a time window follows: it counts itself
    assert payloads["block.t1"]["waits"] == {"wait": "t1", "next": "d1"}
    assert payloads["block.t1.check"]["waits"] == {"next": "d1"}
    assert payloads["block.w2.poll"]["waits"] == {"true": "d2", "false": "w2"}
    assert payloads["block.w2.check"]["waits"] == {"next": "d2"}


def test_every_block_s_waits_and_the_states_of_send_delay_send_are_unchanged() -> None:
    # Counting the waiting adds payload, never a state: each state entered is a billed transition.
    payloads = tasks(compiled(EVERY_BLOCK, filters=PRO, exit="on_goal", goal={"event": "purchased"}))
    assert {name: p["waits"] for name, p in payloads.items() if "waits" in p} == {
        "block.b1": {"next": "b2"},
        "block.b4.poll": {"false": "b4"},
        "block.b5": {"wait": "b5"},
    }

    asl = compiled({"b1": {**SEND, "next": "b2"}, "b2": {**DELAY, "next": "b3"}, "b3": SEND})
    assert set(asl["States"]) == {
        "journey.enter",
        "block.b1",
        "block.b2",
        "block.b2.check",
        "block.b2.checked",
        "block.b3",
        "journey.completed",
        "journey.exited",
        "journey.converted",
        "journey.failed",
        "journey.done",
        "journey.fail",
    }
    assert asl["States"]["block.b2"] == {"Type": "Wait", "Seconds": 86400, "Next": "block.b2.check"}
