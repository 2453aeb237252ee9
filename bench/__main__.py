"""``python -m bench``: measure, print the verdicts, and rewrite the results section of bench/README.md."""

from __future__ import annotations

import sys

from bench.environment import use_mocked_aws

# Per operation: a Track event or identify of a known person must stay within two write units.
MAX_WRITE_UNITS = 2
# Per handler: importing it may take at most this many times the bare Powertools handler's import.
MAX_IMPORT_RATIO = 2.0


def main() -> int:
    # Before anything imports nudge (settings are read once) or builds a client.
    use_mocked_aws()
    from bench import (
        billing_run,
        campaign_flow,
        cold_start,
        local_latency,
        local_speed,
        message_costs,
        report,
        segment_eval,
        send_throughput,
        track_costs,
    )

    # Cold starts first, while nothing else runs: they are timings, the costs are counts.
    modules = cold_start.handler_modules()
    print(f"cold start: {len(modules) + 2} modules x {cold_start.RUNS} x 2 fresh processes ...", flush=True)
    baseline, floor, *starts = cold_start.measure([cold_start.BASELINE, cold_start.FLOOR, *modules])
    track_module = modules[0]
    packages, direct = cold_start.attribute(track_module)
    baseline_packages, _ = cold_start.attribute(cold_start.BASELINE)

    print("DynamoDB costs: the Track handler under moto ...", flush=True)
    costs = {cost.name: cost for cost in track_costs.measure()}

    print(
        f"local runtime: {local_latency.SAMPLES} Track calls over HTTP until evaluate sees them ...",
        flush=True,
    )
    latency = local_latency.measure()

    print(
        f"local runtime speed: importing {local_speed.IMPORT_PEOPLE:,} people and "
        f"{local_speed.SEGMENT_SAMPLES} events to a segment change, in raw PutItems ...",
        flush=True,
    )
    speed = local_speed.measure()

    print(
        "segment evaluation: the evaluate handler at "
        f"{' and '.join(f'{n:,}' for n in segment_eval.SEGMENT_SCALES)} segments x "
        f"{' and '.join(f'{n:,}' for n in segment_eval.PEOPLE_SCALES)} people, in a fresh process ...",
        flush=True,
    )
    points = segment_eval.measure()

    print(
        "billing run: one invoicing run at "
        f"{' and '.join(f'{n:,}' for n in billing_run.PEOPLE_SCALES)} people, in a fresh process ...",
        flush=True,
    )
    runs = billing_run.measure()

    print(
        f"send: one invocation of the send handler, a batch of {send_throughput.BATCH} emails ...", flush=True
    )
    sends = send_throughput.measure()

    print(
        f"campaigns: {campaign_flow.SAMPLES} events to emails, transitions, a "
        f"{campaign_flow.BROADCAST_PEOPLE}-person broadcast, in the local runtime ...",
        flush=True,
    )
    flow = campaign_flow.measure()

    print(
        "message costs: a one-send campaign before and after, a journey, every service counted ...",
        flush=True,
    )
    costs_per_message = message_costs.measure()

    verdicts = []
    for name in (track_costs.EVENT_EXISTING, track_costs.IDENTIFY_EXISTING):
        wru = costs[name].write_units
        verdicts.append(
            report.Verdict(wru <= MAX_WRITE_UNITS, f"{name}: {wru:g} WRU (target <= {MAX_WRITE_UNITS})")
        )
    floor_ratio = floor.import_s / baseline.import_s
    verdicts.append(
        report.Verdict(
            floor_ratio <= MAX_IMPORT_RATIO,
            f"import {floor.module} (the baseline and one PynamoDB model, nothing of Nudge): "
            f"{floor_ratio:.2f}x the baseline handler (target <= {MAX_IMPORT_RATIO:g}x)",
        )
    )
    for start in starts:
        ratio = start.import_s / baseline.import_s
        verdicts.append(
            report.Verdict(
                ratio <= MAX_IMPORT_RATIO,
                f"import {start.module}: {ratio:.2f}x the baseline handler (target <= {MAX_IMPORT_RATIO:g}x)",
            )
        )
    verdicts += [report.Verdict(check.passed, check.text) for check in segment_eval.checks(points)]
    verdicts += [report.Verdict(check.passed, check.text) for check in billing_run.checks(runs)]
    speed_checks = local_speed.checks(speed, latency.median, flow.median)
    verdicts += [report.Verdict(passed, text) for passed, text in speed_checks]
    verdicts += [report.Verdict(passed, text) for passed, text in message_costs.checks(costs_per_message)]
    new_person = costs[track_costs.IDENTIFY_NEW]
    note = (
        f"for reference, identify of a new person: {new_person.write_units:g} WRU, "
        f"{new_person.read_units:g} RRU"
    )

    lines = [
        report.environment_line(),
        "",
        "### Targets",
        "",
        *[f"- {verdict}" for verdict in verdicts],
        f"- {note}",
        "",
        *report.cost_section(list(costs.values())),
        "",
        *report.segment_eval_section(points),
        "",
        *report.billing_run_section(runs),
        "",
        *send_throughput.section(sends),
        "",
        *campaign_flow.section(flow),
        "",
        *message_costs.section(costs_per_message),
        "",
        *local_speed.section(speed, latency.median, flow.median),
        "",
        *report.latency_section(latency),
        "",
        *report.cold_start_section(starts, baseline, floor),
        "",
        *report.attribution_section(track_module, packages, baseline_packages, direct),
    ]
    report.write_results(lines)
    print("\n".join(lines))
    print(f"\nwritten to {report.README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
