"""stack_verify's Grafana checks accept exactly what the grafana role provisions."""

import pytest
import yaml

from ansible_collections.lgtm.stack.plugins.module_utils import verify as V


# The grafana role anchors the derived field (matcherRegex ^trace_id$: Grafana matches it unanchored against label
# keys, first match wins), and stack_verify accepts exactly such a regex.
def test_provisioned_datasources_pass_the_correlation_checks(render_role_template):
    text, _ = render_role_template("grafana", "datasources.yaml.j2", lgtm_project_dir="/srv/shop")
    datasources = yaml.safe_load(text)["datasources"]
    assert V.grafana_settings_problems(datasources) == []
    # ...and the check is not vacuous: break each link and it says so.
    by_uid = dict((d["uid"], d) for d in datasources)
    by_uid["loki"]["jsonData"]["derivedFields"][0]["matcherRegex"] = "trace_id"  # unanchored: parent_trace_id too
    assert V.grafana_settings_problems(datasources) == ["loki: no derived field on the trace_id label/metadata -> tempo"]
    by_uid["loki"]["jsonData"]["derivedFields"][0]["matcherRegex"] = "^trace_id$"
    by_uid["tempo"]["jsonData"]["tracesToLogsV2"]["datasourceUid"] = "elsewhere"
    by_uid["mimir"]["jsonData"]["exemplarTraceIdDestinations"] = []
    by_uid["loki"]["jsonData"]["derivedFields"][0]["matcherType"] = "regex"
    assert V.grafana_settings_problems(datasources) == [
        "tempo: tracesToLogsV2 does not point at loki", "mimir: no exemplar destination trace_id -> tempo",
        "loki: no derived field on the trace_id label/metadata -> tempo"]
