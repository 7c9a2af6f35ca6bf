"""The knowledge page as a business owner uses it, and the `jasping kb` commands."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from conftest import JASPING, ROOT, cli_env
from test_dashboard import _sign_up


def _agent(client) -> tuple[str, str]:  # noqa: ANN001
    csrf = _sign_up(client)
    r = client.post(
        "/agents/new", data={"csrf_token": csrf, "name": "Amal", "languages": ["fr", "en"]}, follow_redirects=False
    )
    return r.headers["location"].split("?")[0].rsplit("/", 1)[-1], csrf


def test_upload_add_preview_search_and_delete_from_the_dashboard(client) -> None:
    agent_id, csrf = _agent(client)
    page = client.get(f"/agents/{agent_id}/knowledge")
    assert page.status_code == 200 and 'id="dropzone"' in page.text and "/static/knowledge.js" in page.text
    md = "# Horaires\n\nLa clinique est ouverte du lundi au vendredi de 9h à 18h.\n"
    r = client.post(
        f"/agents/{agent_id}/knowledge/upload",
        data={"csrf_token": csrf},
        files={"file": ("horaires.md", md.encode(), "text/markdown")},
        follow_redirects=True,
    )
    assert r.status_code == 200 and "horaires.md" in r.text and "Source added" in r.text
    r = client.post(
        f"/agents/{agent_id}/knowledge/add",
        data={
            "csrf_token": csrf,
            "kind": "qa",
            "question": "Acceptez-vous la carte ?",
            "answer": "Oui, Visa et Mastercard.",
        },
        follow_redirects=True,
    )
    assert "Acceptez-vous la carte ?" in r.text
    assert r.text.count('class="badge ready"') == 2
    r = client.get(f"/agents/{agent_id}/knowledge", params={"q": "quand êtes-vous ouverts ?"})
    assert "lundi au vendredi" in r.text and "Confidence" in r.text
    source_id = re.search(rf"/agents/{agent_id}/knowledge/(src_\w+)\"", r.text).group(1)
    preview = client.get(f"/agents/{agent_id}/knowledge/{source_id}")
    assert preview.status_code == 200 and "Passages" in preview.text
    r = client.post(
        f"/agents/{agent_id}/knowledge/{source_id}/delete", data={"csrf_token": csrf}, follow_redirects=True
    )
    assert "Source deleted." in r.text


def test_dashboard_upload_errors_are_shown_not_raised(client) -> None:
    agent_id, csrf = _agent(client)
    r = client.post(
        f"/agents/{agent_id}/knowledge/upload",
        data={"csrf_token": csrf},
        files={"file": ("virus.pdf", b"MZ\x90\x00" + b"\x00" * 100, "application/pdf")},
    )
    assert r.status_code == 415 and 'role="alert"' in r.text
    r = client.post(
        f"/agents/{agent_id}/knowledge/add", data={"csrf_token": csrf, "kind": "url", "url": "javascript:alert(1)"}
    )
    assert r.status_code == 422 and 'role="alert"' in r.text
    r = client.post(
        f"/agents/{agent_id}/knowledge/upload",
        data={"csrf_token": "forged"},
        files={"file": ("a.txt", b"hello", "text/plain")},
    )
    assert r.status_code == 403


def test_kb_eval_prints_the_metrics(tmp_path) -> None:
    data = ROOT.parent / "shared" / "data" / "retrieval" / "stackfaq_en"
    if not data.exists():
        corpus, queries = tmp_path / "c.jsonl", tmp_path / "q.jsonl"
        corpus.write_text(
            "\n".join(
                json.dumps({"id": str(i), "text": t})
                for i, t in enumerate(["How do I reset my password?", "Where is the parking?"])
            )
        )
        queries.write_text(json.dumps({"id": "q", "text": "forgot my password", "relevant_ids": ["0"]}))
    else:
        corpus, queries = data / "corpus.jsonl", data / "queries.jsonl"
    out = subprocess.run(
        [
            JASPING,
            "kb",
            "eval",
            "--corpus",
            str(corpus),
            "--queries",
            str(queries),
            "--split",
            "test",
            "--lang",
            "en",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=cli_env("sqlite:///" + str(tmp_path / "x.db")),
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert {"mrr@10", "hit@1", "hit@5", "queries"} <= set(result) and result["mrr@10"] > 0.5


def test_kb_add_reports_a_bad_file_and_exits_1(client, db_url, tmp_path) -> None:
    agent_id, _ = _agent(client)
    bad = tmp_path / "scan.pdf"
    bad.write_bytes(b"%PDF-1.4\n%%EOF")
    missing = Path(tmp_path / "nope.txt")
    out = subprocess.run(
        [JASPING, "kb", "add", "--agent", agent_id, str(bad), str(missing)],
        env=cli_env(db_url),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "scan.pdf" in out.stderr and "nope.txt" in out.stderr


def test_the_playground_shows_answers_and_their_debug_details(client) -> None:
    agent_id, csrf = _agent(client)
    client.post(
        f"/agents/{agent_id}/knowledge/add",
        data={
            "csrf_token": csrf,
            "kind": "text",
            "title": "Horaires",
            "text": "La clinique est ouverte du lundi au vendredi de 9h à 18h.",
        },
    )
    r = client.post(
        f"/agents/{agent_id}/playground",
        data={"csrf_token": csrf, "text": "Quels sont vos horaires ?"},
        follow_redirects=True,
    )
    assert r.status_code == 200 and "lundi au vendredi" in r.text
    assert 'class="debug"' in r.text and "answer" in r.text and "Horaires" in r.text
    r = client.post(f"/agents/{agent_id}/playground", data={"csrf_token": csrf, "text": "   "})
    assert r.status_code == 422 and 'role="alert"' in r.text
    r = client.post(f"/agents/{agent_id}/playground/reset", data={"csrf_token": csrf}, follow_redirects=True)
    assert "lundi au vendredi" not in r.text
