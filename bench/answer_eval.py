"""Answer-level evaluation: do the agent's replies carry the fact asked for, cite the right document, and decline
honestly when the documents do not answer? On the invented businesses of eval/answers/ (format: eval/README.md).

    .venv/bin/python bench/answer_eval.py [--split dev|test|all] [--business SLUG] [--misses] [--json]
                                          [--model local|openai] [--embeddings none|use-multilingual] [--arcd]

For every business folder under eval/answers/<split>/: a fresh temporary data directory with SQLite (migrated), an
organization (country and time zone from business.json) and an agent (its languages), the documents uploaded with
`knowledge.service.add_file(..., enqueue=False)` and ingested synchronously by `knowledge.ingestion.ingest`, then
every question asked through `jasping.agent.evaluation` (the turn's context, the configured chat model; nothing
stored). Markdown tables per split: answerable accuracy, fact accuracy, citation accuracy, cross-lingual accuracy,
honest-decline rate, false declines, CPU ms per question (time.thread_time: the answering thread); then per language
and per document format. `--arcd` adds an Arabic extractive check: the ARCD corpus (shared/data/retrieval/arcd_ar)
as one agent's texts, its queries' gold answer spans as the expected facts, dev and test splits (position % 5 == 0:
test).

`--model openai` runs against bench/answer_oracle.py's OracleStub (an OpenAI-compatible stand-in told each
question's expected facts) and adds the prompt recall: the share of answerable questions whose facts were all in
the system prompt sent. Results: bench/results/answers.json (atomic).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import mimetypes
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
from common import fixed, machine, make_log, save_results  # noqa: E402 - after the path set-up

DATA = REPO / "eval" / "answers"
ARCD = REPO.parent / "shared" / "data" / "retrieval" / "arcd_ar"
log = make_log("answers")


# ---- a fresh workspace per business --------------------------------------------------------------------------
@contextlib.contextmanager
def fresh_data_dir() -> Iterator[Path]:
    """A new JASPING_DATA_DIR with a migrated SQLite database; the process's settings and engines follow it."""
    from jasping import db, migrate
    from jasping.config import get_settings
    from jasping.crypto import reset_keyrings
    from jasping.knowledge import retrieval

    path = Path(tempfile.mkdtemp(prefix="jasping-answers-"))
    os.environ["JASPING_DATA_DIR"] = str(path)
    os.environ.pop("JASPING_DATABASE_URL", None)
    get_settings.cache_clear()
    db.dispose_engines()
    reset_keyrings()
    retrieval.forget()
    try:
        migrate.upgrade()
        yield path
    finally:
        db.dispose_engines()
        retrieval.forget()
        shutil.rmtree(path, ignore_errors=True)


def create_agent(business: dict) -> tuple[str, str]:
    """An organization and its agent for `business` (business.json); their ids."""
    from jasping.agents import service as agents
    from jasping.agents.models import LANGUAGES
    from jasping.agents.schemas import AgentCreate
    from jasping.db import session_scope
    from jasping.security.audit import SYSTEM
    from jasping.tenancy import service as tenancy

    languages = [lang for lang in business.get("languages") or ["en"] if lang in LANGUAGES] or ["en"]
    with session_scope() as s:
        owner = tenancy.create_user(s, email="owner@answers.example.org", password="bench-password-2026")
        org = tenancy.create_organization(
            s,
            name=business.get("name") or "Business",
            owner=owner,
            actor=SYSTEM,
            country=business.get("country"),
            timezone=business.get("timezone") or "UTC",
            default_language=languages[0] if languages[0] in ("en", "fr") else "en",
        )
        org_id = org.id
    with session_scope(org_id) as s:
        agent = agents.create_agent(
            s, agent_in=AgentCreate(name=business.get("name") or "Assistant", languages=languages), actor=SYSTEM
        )
        return org_id, agent.id


def upload(org_id: str, agent_id: str, files: list[Path]) -> list[str]:
    """Each file through the real ingestion pipeline, synchronously; the names of those that failed."""
    from jasping.db import session_scope
    from jasping.knowledge import service
    from jasping.knowledge.ingestion import ingest
    from jasping.security.audit import SYSTEM

    failed = []
    for path in files:
        with session_scope(org_id) as s:
            source_id = service.add_file(
                s,
                agent_id=agent_id,
                filename=path.name,
                data=path.read_bytes(),
                content_type=mimetypes.guess_type(path.name)[0],
                actor=SYSTEM,
                enqueue=False,
            ).id
        if ingest(org_id, source_id) != "ready":
            failed.append(path.name)
    return failed


def add_texts(org_id: str, agent_id: str, docs: list[dict]) -> None:
    """Each corpus document as a text source titled with its id, ingested synchronously."""
    from jasping.db import session_scope
    from jasping.knowledge import service
    from jasping.knowledge.ingestion import ingest
    from jasping.knowledge.schemas import TextSourceCreate
    from jasping.security.audit import SYSTEM

    for n, doc in enumerate(docs, 1):
        with session_scope(org_id) as s:
            source_in = TextSourceCreate(type="text", title=doc["id"], text=doc["text"])
            source_id = service.add_from_json(s, agent_id=agent_id, source_in=source_in, actor=SYSTEM, enqueue=False).id
        ingest(org_id, source_id)
        if n % 100 == 0:
            log(f"ARCD: {n}/{len(docs)} passages ingested")


def ask_all(org_id: str, agent_id: str, questions: list, oracle: object | None, label: str) -> tuple[list, list]:
    """Every question through the evaluation module (the oracle told each question's facts first); the results
    and, with the oracle, whether each answerable question's facts were all in the prompt sent."""
    from jasping.agent import evaluation
    from jasping.agent.llm import get_chat_model
    from jasping.agents.models import Agent
    from jasping.config import get_settings
    from jasping.db import session_scope

    in_prompt: list[bool] = []

    def before(question) -> None:  # noqa: ANN001
        if oracle is not None:
            oracle.expect(list(question.expected))

    def progress(done: int, total: int) -> None:
        if oracle is not None and questions[done - 1].answerable:
            in_prompt.append(_in_prompt(oracle, questions[done - 1].expected))
        if done % 25 == 0 or done == total:
            log(f"{label}: {done}/{total} questions")

    with session_scope(org_id, write=False) as s:
        agent = s.get(Agent, agent_id)
        model = get_chat_model(get_settings())
        evaluation.ask(s, agent, questions[0].text, model)  # warm-up: lazy loads are not the first question's CPU
        return evaluation.run(s, agent, questions, model, progress=progress, before=before), in_prompt


YES_NO = {"yes", "no", "oui", "non", "نعم", "لا"}


def _in_prompt(oracle: object, expected: list[str]) -> bool:
    """Whether every expected fact was in the system prompt of the oracle's last request (a yes/no word is the
    reply's verdict, not something the documents say: it is not looked for)."""
    from jasping.agent.evaluation import contains, normalize

    requests = getattr(oracle, "requests", None) or []
    if not requests:
        return False
    messages = requests[-1].get("messages") or []
    system = next((m.get("content") or "" for m in messages if m.get("role") == "system"), "")
    facts = [f for f in expected if not all(normalize(form) in YES_NO for form in f.split("|"))]
    return all(contains(system, fact) for fact in facts)


def share(marks: list[bool]) -> float | None:
    return round(sum(marks) / len(marks), 4) if marks else None


# ---- the businesses and ARCD ---------------------------------------------------------------------------------
def businesses(data: Path, split: str, only: str | None) -> list[Path]:
    folders = sorted(p for p in (data / split).glob("*") if (p / "questions.jsonl").is_file())
    return [p for p in folders if only in (None, p.name)]


def run_business(folder: Path, oracle: object | None) -> dict:
    from jasping.agent.evaluation import load_questions

    business = json.loads((folder / "business.json").read_text(encoding="utf-8"))
    questions = load_questions(folder / "questions.jsonl")
    files = sorted(p for p in (folder / "documents").iterdir() if p.is_file() and not p.name.startswith("."))
    with fresh_data_dir():
        org_id, agent_id = create_agent(business)
        started = time.perf_counter()
        failed = upload(org_id, agent_id, files)
        ingest_s = time.perf_counter() - started
        if failed:
            log(f"{folder.name}: ingestion failed for {', '.join(failed)}")
        results, in_prompt = ask_all(org_id, agent_id, questions, oracle, folder.name)
    return {
        "slug": folder.name,
        "documents": len(files),
        "failed": failed,
        "ingest_s": ingest_s,
        "results": results,
        "in_prompt": in_prompt,
    }


def run_arcd(oracle: object | None) -> dict:
    from jasping.agent.evaluation import Question, report
    from jasping.knowledge.evaluation import load_corpus, split_of

    docs = load_corpus(ARCD / "corpus.jsonl", language="ar")
    rows = [json.loads(line) for line in (ARCD / "queries.jsonl").read_text(encoding="utf-8").splitlines() if line]
    out: dict = {"documents": len(docs)}
    with fresh_data_dir():
        org_id, agent_id = create_agent({"name": "ARCD", "languages": ["ar", "en", "fr"]})
        started = time.perf_counter()
        add_texts(org_id, agent_id, docs)
        out["ingest_s"] = round(time.perf_counter() - started, 1)
        for split in ("dev", "test"):
            questions = [
                Question(
                    id=str(row["id"]),
                    text=row["text"],
                    expected=["|".join(a.replace("|", " ") for a in row["answers"])],
                    document=row["relevant_ids"][0],
                    language="ar",
                    type="extractive",
                    position=n,
                )
                for n, row in enumerate(rows)
                if split_of(n) == split
            ]
            results, in_prompt = ask_all(org_id, agent_id, questions, oracle, f"ARCD {split}")
            out[split] = {**report(results), "prompt_recall": share(in_prompt)}
    return out


# ---- output --------------------------------------------------------------------------------------------------
def pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f} %"


def table(rows: list[tuple[str, dict]], first: str, recall: bool = False) -> str:
    head = [first, "questions", "accuracy", "fact", "citation", "cross-lingual", "honest declines", "false declines"]
    head += ["prompt recall"] * recall + ["CPU ms/q"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, f in rows:
        cells = [name, str(f["questions"]), pct(f["accuracy"]), pct(f["fact_accuracy"])]
        cells += [pct(f["citation_accuracy"]), pct(f["cross_lingual_accuracy"]), pct(f["honest_decline_rate"])]
        cells += [pct(f["false_decline_rate"])] + [pct(f.get("prompt_recall"))] * recall
        cells.append(fixed(f["cpu_ms_per_question"], 1))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def summarize(runs: list[dict]) -> dict:
    """All businesses of a split together, with the per-business and per-group figures and the misses."""
    from jasping.agent.evaluation import figures, report

    results = [r for run in runs for r in run["results"]]
    summary = report(results)
    summary["prompt_recall"] = share([mark for run in runs for mark in run["in_prompt"]])
    summary["businesses"] = {
        run["slug"]: {
            **figures(run["results"]),
            "prompt_recall": share(run["in_prompt"]),
            "ingest_s": round(run["ingest_s"], 2),
            "failed_documents": run["failed"],
        }
        for run in runs
    }
    return summary


def markdown(splits: dict[str, dict], arcd: dict | None, recall: bool, misses: bool) -> str:
    out = []
    for split, s in splits.items():
        rows = [(slug, f) for slug, f in s["businesses"].items()] + [("**all**", s)]
        out += [f"### {split}: {len(s['businesses'])} businesses", "", table(rows, "business", recall), ""]
        out += [table(list(s["by_language"].items()), "language"), ""]
        out += [table(list(s["by_format"].items()), "format"), ""]
        if misses:
            out += [f"#### misses ({split}): {len(s['misses'])}", ""]
            out += [
                f"- `{m['id']}` {m['question']!r} — expected {m['expected']} from {m['document']}; "
                f"replied {m['reply'][:300]!r}, cited {m['cited']} — {m['why']}"
                for m in s["misses"]
            ] + [""]
    if arcd:
        rows = [(split, arcd[split]) for split in ("dev", "test")]
        out += [f"### ARCD (Arabic, extractive): {arcd['documents']} passages as texts", ""]
        out += [
            "| split | questions | answer span in the reply | cites the passage | both | CPU ms/q |",
            "|---|---|---|---|---|---|",
        ]
        out += [
            f"| {name} | {f['questions']} | {pct(f['fact_accuracy'])} | {pct(f['citation_accuracy'])} | "
            f"{pct(f['accuracy'])} | {fixed(f['cpu_ms_per_question'], 1)} |"
            for name, f in rows
        ] + [""]
    return "\n".join(out)


@contextlib.contextmanager
def model_env(model: str) -> Iterator[object | None]:
    """The chat model of the run: the local model, or the oracle stand-in behind JASPING_LLM=openai."""
    if model == "local":
        os.environ["JASPING_LLM"] = "local"
        yield None
        return
    try:
        from answer_oracle import OracleStub
    except ImportError as exc:
        raise SystemExit(f"--model openai needs bench/answer_oracle.py (OracleStub): {exc}") from None
    with OracleStub() as oracle:
        os.environ.update({"JASPING_LLM": "openai", "OPENAI_BASE_URL": oracle.base_url, "OPENAI_API_KEY": "sk-bench"})
        yield oracle


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=["dev", "test", "all"], default="all")
    parser.add_argument("--business", help="only this business (its folder name)")
    parser.add_argument("--misses", action="store_true", help="list the wrong replies")
    parser.add_argument("--model", choices=["local", "openai"], default="local")
    parser.add_argument(
        "--embeddings", choices=["none", "use-multilingual"], default="use-multilingual", help="default: the product's"
    )
    parser.add_argument("--arcd", action="store_true", help="also the Arabic extractive check on ARCD")
    parser.add_argument("--data", type=Path, default=DATA, help="folder holding dev/ and test/ (default eval/answers)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    args = parser.parse_args(argv)
    os.environ["JASPING_EMBEDDINGS"] = args.embeddings
    os.environ.setdefault("JASPING_LOG_LEVEL", "WARNING")
    splits = ["dev", "test"] if args.split == "all" else [args.split]
    folders = {split: businesses(args.data, split, args.business) for split in splits}
    if not any(folders.values()) and not args.arcd:
        print(f"no business under {args.data}/{'|'.join(splits)} (each needs a questions.jsonl)", file=sys.stderr)
        return 2
    doc: dict = {"date": dt.date.today().isoformat(), "machine": machine(), "model": args.model}
    doc.update({"embeddings": args.embeddings, "split": args.split, "business": args.business})
    with model_env(args.model) as oracle:
        summaries = {
            split: summarize([run_business(folder, oracle) for folder in found])
            for split, found in folders.items()
            if found
        }
        arcd = run_arcd(oracle) if args.arcd else None
    doc["splits"], doc["arcd"] = summaries, arcd
    path = save_results(doc, "answers")
    if args.json:
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        print(markdown(summaries, arcd, recall=oracle is not None, misses=args.misses))
    log(f"results in {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
