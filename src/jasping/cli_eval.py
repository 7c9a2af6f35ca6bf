"""`jasping eval`: ask an agent a file of questions and score its replies (accuracy, citations, honest declines)."""

from __future__ import annotations

import json
import sys

import click


def _error(message: str) -> None:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(2)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


@click.command("eval")
@click.option("--agent", "agent_id", required=True, help="the agent's id (agt_…)")
@click.option("--questions", "path", required=True, help="a .jsonl, .csv or .xlsx question file (docs/evaluation.md)")
@click.option("--split", type=click.Choice(["dev", "test", "all"]), default="all", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="print every figure and miss as JSON")
@click.option("--show-misses", default=10, show_default=True, help="how many wrong replies to print")
def eval_command(agent_id: str, path: str, split: str, as_json: bool, show_misses: int) -> None:
    """Ask AGENT every question of the file and score the replies: a reply is right when it contains every
    expected fact and cites the expected document, or declines honestly when the documents do not answer."""
    from jasping.agent import evaluation
    from jasping.agent.llm import get_chat_model
    from jasping.agents.models import Agent
    from jasping.cli import _migrate_quietly
    from jasping.config import get_settings
    from jasping.db import session_scope
    from jasping.knowledge.evaluation import split_of

    try:
        questions = evaluation.load_questions(path)
    except evaluation.QuestionFileError as exc:
        _error(str(exc))
    questions = [q for q in questions if split == "all" or split_of(q.position) == split]
    if not questions:
        _error(f"no questions in the {split} split of {path} (test: every fifth question, from the first)")
    _migrate_quietly()
    with session_scope(write=False) as s:
        agent = s.get(Agent, agent_id)
        if agent is None:
            _error(f"no agent {agent_id}")
        org_id = agent.org_id
    model = get_chat_model(get_settings())
    with session_scope(org_id, write=False) as s:
        with click.progressbar(length=len(questions), label="questions", file=sys.stderr) as bar:
            results = evaluation.run(
                s, s.get(Agent, agent_id), questions, model, progress=lambda n, total: bar.update(1)
            )
    report = evaluation.report(results)
    if as_json:
        click.echo(json.dumps({"agent": agent_id, "split": split, "model": model.name, **report}, ensure_ascii=False))
        return
    click.echo(
        f"{report['questions']} questions ({report['answerable']} answerable, {report['unanswerable']} not), "
        f"{split} split, model {model.name}"
    )
    click.echo(f"accuracy            {_pct(report['accuracy'])}   (fact and citation right)")
    click.echo(f"fact accuracy       {_pct(report['fact_accuracy'])}")
    click.echo(f"citation accuracy   {_pct(report['citation_accuracy'])}")
    click.echo(
        f"honest declines     {_pct(report['honest_decline_rate'])}   (of the questions the documents do not answer)"
    )
    click.echo(f"false declines      {_pct(report['false_decline_rate'])}   (declined an answerable question)")
    misses = report["misses"]
    if misses and show_misses > 0:
        click.echo(f"\n{len(misses)} misses" + (f", the first {show_misses}:" if len(misses) > show_misses else ":"))
        for m in misses[:show_misses]:
            click.echo(f"- [{m['id']}] {m['question']}")
            click.echo(
                f"    expected: {'; '.join(m['expected']) or '(a decline)'}"
                + (f" from {m['document']}" if m["document"] else "")
            )
            click.echo(f"    reply:    {m['reply'][:300]}")
            click.echo(f"    cited:    {', '.join(m['cited']) or 'nothing'} — {m['why']}")
