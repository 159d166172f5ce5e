"""module_utils.logql: dashboard LogQL rewritten from Promtail's labels onto the new pipeline's."""

import pytest

from ansible_collections.lgtm.stack.plugins.module_utils import logql, promtail
from ansible_collections.lgtm.stack.plugins.module_utils.yamlutil import load_yaml
from tests.unit.conftest import FIXTURES

IDENTITIES = {"api": "shop-api", "worker": "shop-worker", "mysql": "mysql", "legacy-db": "mysql"}


@pytest.fixture(scope="module")
def rewriter():
    model = promtail.label_model(load_yaml(str(FIXTURES / "promtail" / "config.yml")))
    return logql.LogQLRewriter(model, IDENTITIES, "shop")


@pytest.mark.parametrize(("before", "after"), [
    # Container names (leading slash, compose v1/v2 names, container_name:) and compose services -> service_name.
    ('{container="legacy-project-api-1"}', '{service_name="shop-api"}'),
    ('{container="/legacy_project_worker_2"} |= "x"', '{service_name="shop-worker"} |= "x"'),
    ('{container="legacy-db"}', '{service_name="mysql"}'),
    ('{container!="legacy-project-api-1"}', '{service_namespace="shop", service_name!="shop-api"}'),
    ('sum by (compose_service) (count_over_time({compose_service=~"api|worker"} |= "error" [5m]))',
     'sum by (service_name) (count_over_time({service_name=~"shop-api|shop-worker"} |= "error" [5m]))'),
    ('{compose_service=~"w.*"}', '{service_name=~"shop-worker"}'),
    ('{compose_service=~".+"}', '{service_name=~".+"}'),
    # Job and project matchers go; a selector left empty gets the namespace.
    ('{job="docker", level="error"}', '{service_namespace="shop"} | json | level="error"'),
    ('{compose_project="legacy-project", container="legacy-project-api-1"}', '{service_name="shop-api"}'),
    # Stage labels become filters after the parser the query already has, before formatting stages.
    ('{job="docker", level=~"warn|error"} | json | line_format "{{.msg}}"',
     '{service_namespace="shop"} | json | level=~"warn|error" | line_format "{{.msg}}"'),
    ('{container="legacy-project-api-1", method="GET"}',
     '{service_name="shop-api"} | json method="request.method" | method="GET"'),
    ('sum(rate({container="legacy-project-api-1", level="error"} | unwrap bytes [1m]))',
     'sum(rate({service_name="shop-api"} | json | level="error" | unwrap bytes [1m]))'),
    # Trace ids: a structured-metadata filter; the log stream keeps its meaning as `stream`.
    ('{compose_project="legacy-project", trace_id="${trace}"}', '{service_namespace="shop"} | trace_id="${trace}"'),
    ('{container=~"$container", logstream="stderr"} |= "$search"',
     '{service_name=~"$container", stream="stderr"} |= "$search"'),
    # Groupings: mapped, constant ones removed (and an empty `by ()` with them).
    ('sum(count_over_time({job="docker"}[5m])) by (job)', 'sum(count_over_time({service_namespace="shop"}[5m]))'),
    ('sum by (job, container) (rate({container=~"[[container]]"}[$__interval]))',
     'sum by (service_name) (rate({service_name=~"[[container]]"}[$__interval]))'),
    ('sum without (logstream) (rate({compose_service="api"}[${__range}]))',
     'sum without (stream) (rate({service_name="shop-api"}[${__range}]))'),
    # Already on the new labels, braces inside strings: untouched.
    ('{service_name="shop-api"} |= "{container=\\"x\\"}"', '{service_name="shop-api"} |= "{container=\\"x\\"}"'),
])
def test_rewrite(rewriter, before, after):
    new, changes, problems = rewriter.rewrite(before)
    assert new == after
    assert not problems
    assert logql.stream_labels(new) <= promtail.NEW_LOG_LABELS | {"trace_id"}
    if before != after:
        assert changes and all({"label", "promtail_job", "source", "fate", "new", "reason"} <= set(c) for c in changes)


def test_change_records_say_what_happened(rewriter):
    _new, changes, _problems = rewriter.rewrite('{job="docker", container="legacy-project-api-1", level="error"}')
    assert [(c["label"], c["fate"], c["new"]) for c in changes] == [
        ("job", "dropped", None), ("container", "replaced", 'service_name="shop-api"'),
        ("level", "converted", '| level="error"')]
    assert changes[2]["promtail_job"] == "docker" and changes[2]["source"] == "stage"


@pytest.mark.parametrize(("query", "reason"), [
    ('{job="varlogs"} |= "oom"', "the new pipeline does not collect it"),
    ('{container="legacy-project-billing-1"}', "names no compose service"),
    ('{compose_service=~"api|billing"}', "'billing' names no compose service"),
    ('{job="cron"}', "never matched: Promtail job docker set job='docker'"),
    ('{container~"a"}', "cannot read the stream selector"),
])
def test_queries_that_cannot_keep_their_meaning_are_left_alone(rewriter, query, reason):
    new, _changes, problems = rewriter.rewrite(query)
    assert new is None and any(reason in p for p in problems), problems


def test_unknown_and_relabel_labels_become_filters_with_a_problem():
    model = {"cid": {"label": "cid", "sources": [{"promtail_job": "d", "collects": "docker", "where": None,
                                                    "source": "relabel rule", "kind": "relabel", "line": 3,
                                                    "source_labels": ["__meta_docker_container_id"]}]}}
    rewriter = logql.LogQLRewriter(model, {}, "shop")
    new, changes, problems = rewriter.rewrite('{cid="abc", host="x"}')
    assert new == '{service_namespace="shop"} | cid="abc" | host="x"'
    assert "__meta_docker_container_id" in problems[0] and "neither by the Promtail config" in problems[1]
    assert [c["fate"] for c in changes] == ["converted", "converted", "converted"]


@pytest.mark.parametrize(("before", "after"), [
    ("label_values(container)", "label_values(service_name)"),
    ('label_values({compose_project="legacy-project"}, compose_service)',
     'label_values({service_namespace="shop"}, service_name)'),
    ("label_values(logstream)", "label_values(stream)"),
    ("label_names()", "label_names()"),
])
def test_variable_queries(rewriter, before, after):
    assert rewriter.rewrite_variable_query(before)[0] == after


def test_variable_queries_on_labels_nobody_writes(rewriter):
    new, _changes, problems = rewriter.rewrite_variable_query("label_values(job)")
    assert new is None and "writes no job label" in problems[-1]
    new, _changes, problems = rewriter.rewrite_variable_query("label_values(level)")
    assert new is None and "not an index label" in problems[-1]


def test_no_namespace_and_no_matcher_is_refused():
    new, _c, problems = logql.LogQLRewriter({}, {}, None).rewrite('{compose_project="x"}')
    assert new is None
    assert "no service_namespace was given" in problems[-1]


def test_selectors_skip_variables_and_strings():
    expr = 'sum(rate({a="}{"} |= `{x}` [${__interval}]))'
    assert [expr[s:e + 1] for s, e in logql.selectors(expr)] == ['{a="}{"}']


def test_a_variable_query_keeps_its_whole_selector_when_a_value_holds_a_brace(rewriter, monkeypatch):
    """label_values() takes a selector and no pipeline: the filters the rewrite added are cut at the selector's own
    closing brace, not at a `}` inside a quoted value."""
    monkeypatch.setattr(rewriter, "rewrite", lambda expr: ('{service_name=~"a{1}pi"} | json | level="x"', [], []))
    new, _changes, problems = rewriter.rewrite_variable_query('label_values({compose_service=~"a{1}pi"}, container)')
    assert new == 'label_values({service_name=~"a{1}pi"}, service_name)'
    assert "label filters cannot be part of its selector" in problems[-1]
    monkeypatch.setattr(rewriter, "rewrite", lambda expr: ('{service_name="a}b"}', [], []))
    new, _changes, problems = rewriter.rewrite_variable_query('label_values({compose_service="a}b"}, container)')
    assert new == 'label_values({service_name="a}b"}, service_name)' and problems == []
