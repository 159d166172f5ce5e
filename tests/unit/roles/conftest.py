"""Render a role's templates with Ansible's own templating, from its defaults plus overrides."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def render_role_template():
    from ansible.errors import AnsibleUndefinedVariable
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar, trust_as_template

    def _render(role, template, **overrides):
        role_dir = ROOT / "roles" / role
        # Role files are trusted templates (ansible-core 2.19 only templates trusted strings).
        variables = {}
        loader = DataLoader()
        for source in ("defaults", "vars"):
            path = role_dir / source / "main.yml"
            if path.is_file():
                # Like Ansible: role files are trusted templates, except what they mark !unsafe.
                variables.update(loader.load_from_file(str(path), trusted_as_template=True) or {})
        variables.update(overrides)
        variables.setdefault("ansible_managed", "Ansible managed")
        # The user facts the grafana and exporters roles read (root, as in CI, unless a test says otherwise).
        variables.setdefault("ansible_facts", {"user_uid": 0, "user_gid": 0})
        templar = Templar(loader=DataLoader(), variables=variables)
        # Resolve templated defaults first (they refer to shared lgtm_* knobs), like Ansible does lazily.
        resolved = {}
        for key, value in variables.items():
            try:
                resolved[key] = templar.template(value) if isinstance(value, (str, dict, list)) else value
            except AnsibleUndefinedVariable:
                continue  # needs a fact set at run time (like Ansible, only an error where it is used)
        templar = Templar(loader=DataLoader(), variables=dict(variables, **resolved))
        source = trust_as_template((role_dir / "templates" / template).read_text())
        return templar.template(source), resolved

    return _render
