# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Markdown migration report from a plan, in English or Brazilian Portuguese."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.lgtm.stack.plugins.module_utils.inventory import render_inventory

TEXT = {
    "en": {
        "title": "Migration report: %s",
        "intro": "What `lgtm.stack` will do to this project, and what it means for you. Findings are sorted by "
                 "severity; each names the file that shows it.",
        "summary": "Summary",
        "findings_count": "Findings: %(high)d high, %(medium)d medium, %(low)d low, %(info)d info.",
        "services": "Services",
        "removed": "Removed",
        "kept": "Kept (untouched except the rewiring below)",
        "added": "Added by the stack",
        "backends": "Backends",
        "backends_local": "Tempo, Loki and Mimir run in this project's stack and keep their data in its volumes.",
        "backends_remote": "Remote (`lgtm_backend: remote`): Alloy ships every signal to the backends below; "
                           "Tempo, Loki and Mimir do not run here and nothing is stored on this host.",
        "backend_row": "| signal | backend | push | query | tenant | auth |",
        "service": "service", "component": "component", "reason": "why",
        "rewire": "Rewiring of applications",
        "no_rewire": "No application needs rewiring.",
        "env_set": "set", "env_remove": "remove", "networks_add": "join network", "depends_remove": "drop depends_on",
        "jaeger_receivers": "Alloy keeps Jaeger receivers (%s) because some applications still speak Jaeger.",
        "ports": "Ports",
        "released": "Released", "claimed": "Claimed by the stack (bound to %s)", "conflicts": "Conflicts",
        "none": "none",
        "data": "Data",
        "volumes_keep": "Named volumes no longer used by any service are **kept** (set `lgtm_migrate_remove_legacy_data: true` to delete them):",
        "volumes_delete": "Named volumes no longer used by any service **will be deleted** (`lgtm_migrate_remove_legacy_data: true`):",
        "binds": "Bind-mounted files and directories of removed services stay where they are:",
        "stack_volumes": "Where each new component keeps its data (engine volume names):",
        "volume_state": {"new": "new, starts empty", "reused": "this stack's own, from an earlier run",
                         "adopted": "the legacy Grafana database, adopted (lgtm_migrate_adopt_grafana_data)"},
        "identities": "Identity",
        "identities_intro": "Each application's traces, metrics, OTLP logs and container logs carry the same identity "
                            "(Loki labels `service_name`, `service_namespace`, `deployment_environment_name`; Tempo "
                            "span metrics `service`):",
        "promtail": "Promtail labels",
        "promtail_intro": "Each label Promtail gave the logs, and what it becomes:",
        "scrape": "Scrape jobs",
        "carried": "carried into Alloy", "dropped": "dropped",
        "datasources": "Grafana datasources",
        "ds_map": "Old uid or name -> new uid (dashboards are rewritten accordingly):",
        "inventory_ds": "Legacy datasources:",
        "inventory_dash": "Legacy dashboards (carried into observability/grafana/dashboards/project, queries "
                          "rewritten):",
        "fates": {"replaced": "replaced by", "dropped": "dropped (no counterpart)", "carried": "carried"},
        "findings": "Findings",
        "no_findings": "No findings.",
        "where": "where", "what": "what", "todo": "what to do", "severity": "severity", "code": "code",
        "next": "Next steps",
        "next_items": [
            "Review the high and medium findings above; the Go findings say what must change in the code.",
            "Run `ansible-playbook migrate.yml --check --diff` to see every file change before it happens.",
            "After the migration, open Grafana and follow a slow request: exemplar -> trace -> logs.",
        ],
    },
    "pt_BR": {
        "title": "Relatório de migração: %s",
        "intro": "O que o `lgtm.stack` vai fazer neste projeto e o que isso significa para você. Os achados estão "
                 "ordenados por severidade; cada um indica o arquivo que o evidencia.",
        "summary": "Resumo",
        "findings_count": "Achados: %(high)d altos, %(medium)d médios, %(low)d baixos, %(info)d informativos.",
        "services": "Serviços",
        "removed": "Removidos",
        "kept": "Mantidos (intocados, exceto pela religação abaixo)",
        "added": "Adicionados pela stack",
        "backends": "Backends",
        "backends_local": "Tempo, Loki e Mimir rodam na stack deste projeto e guardam os dados nos volumes dela.",
        "backends_remote": "Remotos (`lgtm_backend: remote`): o Alloy envia cada sinal aos backends abaixo; Tempo, "
                           "Loki e Mimir não rodam aqui e nada fica guardado neste host.",
        "backend_row": "| sinal | backend | envio | consulta | tenant | auth |",
        "service": "serviço", "component": "componente", "reason": "motivo",
        "rewire": "Religação das aplicações",
        "no_rewire": "Nenhuma aplicação precisa ser religada.",
        "env_set": "definir", "env_remove": "remover", "networks_add": "entrar na rede",
        "depends_remove": "tirar de depends_on",
        "jaeger_receivers": "O Alloy mantém receptores Jaeger (%s) porque algumas aplicações ainda falam Jaeger.",
        "ports": "Portas",
        "released": "Liberadas", "claimed": "Ocupadas pela stack (em %s)", "conflicts": "Conflitos",
        "none": "nenhum",
        "data": "Dados",
        "volumes_keep": "Volumes nomeados que nenhum serviço usa mais são **mantidos** (defina `lgtm_migrate_remove_legacy_data: true` para apagá-los):",
        "volumes_delete": "Volumes nomeados que nenhum serviço usa mais **serão apagados** (`lgtm_migrate_remove_legacy_data: true`):",
        "binds": "Arquivos e diretórios montados dos serviços removidos permanecem onde estão:",
        "stack_volumes": "Onde cada componente novo guarda seus dados (nomes dos volumes no engine):",
        "volume_state": {"new": "novo, começa vazio", "reused": "da própria stack, de uma execução anterior",
                         "adopted": "o banco do Grafana antigo, adotado (lgtm_migrate_adopt_grafana_data)"},
        "identities": "Identidade",
        "identities_intro": "Traces, métricas, logs OTLP e logs de contêiner de cada aplicação levam a mesma identidade "
                            "(labels do Loki `service_name`, `service_namespace`, `deployment_environment_name`; "
                            "span metrics do Tempo `service`):",
        "promtail": "Labels do Promtail",
        "promtail_intro": "Cada label que o Promtail dava aos logs, e o que ele vira:",
        "scrape": "Jobs de coleta (scrape)",
        "carried": "levado para o Alloy", "dropped": "descartado",
        "datasources": "Datasources do Grafana",
        "ds_map": "uid ou nome antigo -> novo uid (os dashboards são reescritos de acordo):",
        "inventory_ds": "Datasources antigos:",
        "inventory_dash": "Dashboards antigos (levados para observability/grafana/dashboards/project, consultas "
                          "reescritas):",
        "fates": {"replaced": "substituído por", "dropped": "descartado (sem equivalente)", "carried": "levado"},
        "findings": "Achados",
        "no_findings": "Nenhum achado.",
        "where": "onde", "what": "o quê", "todo": "o que fazer", "severity": "severidade", "code": "código",
        "next": "Próximos passos",
        "next_items": [
            "Revise os achados altos e médios acima; os achados de Go dizem o que precisa mudar no código.",
            "Rode `ansible-playbook migrate.yml --check --diff` para ver cada mudança de arquivo antes que aconteça.",
            "Depois da migração, abra o Grafana e siga uma requisição lenta: exemplar -> trace -> logs.",
        ],
    },
}
SEVERITY_NAMES = {"en": {"high": "high", "medium": "medium", "low": "low", "info": "info"},
                  "pt_BR": {"high": "alto", "medium": "médio", "low": "baixo", "info": "info"}}


def _cell(text):
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def _under(path, root):
    """`path` relative to the project `root` when it lies inside it (/srv/shop2 is not inside /srv/shop)."""
    if root and path.startswith(root.rstrip("/") + "/"):
        return os.path.relpath(path, root)
    return path


def _where(finding, root):
    path = finding.get("file")
    if not path:
        return finding.get("service") or ""
    path = _under(path, root)
    return "%s:%s" % (path, finding["line"]) if finding.get("line") else path


def _datasources(plan, t):
    """The datasource map and the legacy Grafana inventory."""
    out = ["", "## " + t["datasources"], "", t["ds_map"], ""]
    out += ["- `%s` -> `%s`" % (k, v) for k, v in sorted(plan["datasource_map"]["by_uid_or_name"].items())]
    out += ["- `${%s}` -> `%s`" % (k, v) for k, v in sorted(plan["datasource_map"]["inputs"].items())]
    inventory = plan.get("grafana_inventory") or {}
    if inventory.get("datasources"):
        out += ["", t["inventory_ds"], ""]
        out += ["- `%s` (%s, `%s`): %s%s" % (
            d["name"], d["type"], d["file"], t["fates"][d["fate"]], " `%s`" % d["new"] if d.get("new") else "")
            for d in inventory["datasources"]]
    if inventory.get("dashboards"):
        out += ["", t["inventory_dash"], ""]
        out += ["- %s (`%s`): %s" % (_cell(d["title"]), d["file"], t["fates"][d["fate"]])
                for d in inventory["dashboards"]]
    return out


def _backends(plan, t):
    backend = plan.get("backend") or {"mode": "local"}
    if backend.get("mode") != "remote":
        return ["", "## " + t["backends"], "", t["backends_local"]]
    out = ["", "## " + t["backends"], "", t["backends_remote"], "", t["backend_row"], "|---|---|---|---|---|---|"]
    for signal in ("traces", "logs", "metrics"):
        e = (backend.get("endpoints") or {}).get(signal) or {}
        out.append("| %s | %s | %s | %s | %s | %s |" % (signal, e.get("backend", ""), _cell(e.get("push", "")),
                                                        _cell(e.get("query", "")), _cell(e.get("tenant") or "-"),
                                                        e.get("auth", "")))
    return out


def _services(plan, t):
    """Removed, kept and added services."""
    out = ["## " + t["services"], "", "### " + t["removed"], "",
           "| %s | %s | %s |" % (t["service"], t["component"], t["reason"]), "|---|---|---|"]
    out += ["| %s | %s | %s |" % (_cell(r["service"]), r["component"], _cell(r["reason"])) for r in plan["remove_services"]]
    out += ["", "### " + t["kept"], "", ", ".join("`%s`" % s for s in plan["keep_services"]) or t["none"], "",
            "### " + t["added"], ""]
    out += ["- `%s` (%s)" % (a["service"], a["component"]) for a in plan["add_services"]]
    return out


def _rewiring(plan, t):
    """The per-application rewiring, and the Jaeger receivers Alloy keeps."""
    out = ["", "## " + t["rewire"], ""]
    if not plan["rewire"]:
        out.append(t["no_rewire"])
    for item in plan["rewire"]:
        out.append("- **%s**" % item["service"])
        for key, value in sorted(item["env_set"].items()):
            out.append("  - %s `%s=%s`" % (t["env_set"], key, value))
        for key in item["env_remove"]:
            out.append("  - %s `%s`" % (t["env_remove"], key))
        for net in item["networks_add"]:
            out.append("  - %s `%s`" % (t["networks_add"], net))
        if item["depends_on_remove"]:
            out.append("  - %s: %s" % (t["depends_remove"], ", ".join("`%s`" % d for d in item["depends_on_remove"])))
        for note in item.get("notes") or []:
            out.append("  - %s" % note)
    if plan.get("jaeger_receivers"):
        out += ["", t["jaeger_receivers"] % ", ".join(plan["jaeger_receivers"])]
    return out


def _identities(plan, t):
    if not plan.get("service_identities"):
        return []
    out = ["", "## " + t["identities"], "", t["identities_intro"], ""]
    out += ["- `%s`: service.name `%s`, service.namespace `%s`, deployment.environment `%s`"
            % (name, i["service_name"], i["service_namespace"], i["environment"])
            for name, i in sorted(plan["service_identities"].items())]
    return out


def _ports(plan, t):
    ports = plan["ports"]
    return ["", "## " + t["ports"], "",
            "- %s: %s" % (t["released"], ", ".join("%s/%s (%s)" % (p["port"], p["protocol"], p["service"])
                                                   for p in ports["released"]) or t["none"]),
            "- %s: %s" % (t["claimed"] % plan["bind_address"],
                          ", ".join("%s (%s)" % (p["port"], p["what"]) for p in ports["claimed"]) or t["none"]),
            "- %s: %s" % (t["conflicts"], ", ".join("%s (%s / %s)" % (c["port"], c["wanted_by"], c["held_by"])
                                                    for c in ports["conflicts"]) or t["none"]), ""]


def _data(plan, t, root):
    """The stack's volumes, the legacy named volumes and the bind mounts left behind."""
    out = ["## " + t["data"], ""]
    if plan.get("stack_volumes"):
        out += [t["stack_volumes"], ""]
        out += ["- %s: `%s` (%s)" % (component, v["name"], t["volume_state"][v["state"]])
                for component, v in sorted(plan["stack_volumes"].items())]
        out.append("")
    if plan["volumes"]:
        delete = any(v["action"] == "delete" for v in plan["volumes"])
        out += [t["volumes_delete"] if delete else t["volumes_keep"], ""]
        out += ["- `%s` (%s)" % (v["volume"], ", ".join(v["used_by"])) for v in plan["volumes"]]
        out.append("")
    if plan["legacy_bind_mounts"]:
        out += [t["binds"], ""]
        out += ["- `%s` (%s)" % (_under(b["source"], root), b["service"]) for b in plan["legacy_bind_mounts"]]
        out.append("")
    return out


def _promtail(plan, t):
    if not plan.get("promtail_labels"):
        return []
    out = ["## " + t["promtail"], "", t["promtail_intro"], ""]
    out += ["- `%s` (job `%s`, %s): %s -> `%s` (%s)" % (
        f["label"], f["promtail_job"], f["source"], f["fate"], f.get("new") or "-", f["reason"])
        for f in plan["promtail_labels"]]
    out.append("")
    return out


def _scrape(plan, t):
    out = ["## " + t["scrape"], ""]
    for job in plan["scrape_jobs"]:
        out.append("- `%s`: %s (%s)" % (job["job_name"], t["carried"] if job["action"] == "carry" else t["dropped"],
                                        job["reason"]))
    return out


def _findings(plan, t, language, root):
    out = ["", "## " + t["findings"], ""]
    if not plan["findings"]:
        out.append(t["no_findings"])
    else:
        out += ["| %s | %s | %s | %s | %s |" % (t["severity"], t["code"], t["where"], t["what"], t["todo"]),
                "|---|---|---|---|---|"]
        for f in plan["findings"]:
            out.append("| %s | %s | %s | %s | %s |" % (SEVERITY_NAMES[language][f["severity"]], f["code"],
                                                       _cell(_where(f, root)), _cell(f["message"]),
                                                       _cell(f.get("recommendation"))))
    return out


def render_report(plan, language="en"):
    if language not in TEXT:
        raise ValueError("report language must be one of %s, not %r" % (", ".join(sorted(TEXT)), language))
    t = TEXT[language]
    root = plan.get("project_dir") or ""
    out = ["# " + t["title"] % (plan.get("project_name") or root), "", t["intro"], "", "## " + t["summary"], "",
           t["findings_count"] % plan["summary"], ""]
    out += _services(plan, t)
    out += _backends(plan, t)
    out += _rewiring(plan, t)
    out += _identities(plan, t)
    out += _ports(plan, t)
    out += _data(plan, t, root)
    out += _promtail(plan, t)
    out += _scrape(plan, t)
    out += _datasources(plan, t)
    out += _findings(plan, t, language, root)
    if plan.get("inventory"):
        out += ["", render_inventory(plan["inventory"], language).rstrip("\n")]
    out += ["", "## " + t["next"], ""]
    out += ["%d. %s" % (i, item) for i, item in enumerate(t["next_items"], 1)]
    return "\n".join(out) + "\n"
