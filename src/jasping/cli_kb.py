"""`jasping kb`: add sources from the command line (with a progress bar) and evaluate retrieval."""

from __future__ import annotations

import json
import mimetypes
import sys
from pathlib import Path

import click


@click.group()
def kb() -> None:
    """The knowledge base."""


def _org_of_agent(agent_id: str) -> str:
    from jasping.agents.models import Agent
    from jasping.db import session_scope

    with session_scope(write=False) as s:
        agent = s.get(Agent, agent_id)
        if agent is None:
            click.secho(f"error: no agent {agent_id}", fg="red", err=True)
            sys.exit(1)
        return agent.org_id


@kb.command("add")
@click.option("--agent", "agent_id", required=True, help="the agent's id (agt_…)")
@click.option("--crawl", is_flag=True, help="crawl a URL as a website (sitemap or same-host links)")
@click.option("--max-pages", default=200, show_default=True)
@click.option("--max-depth", default=3, show_default=True)
@click.argument("items", nargs=-1, required=True)
def kb_add(agent_id: str, crawl: bool, max_pages: int, max_depth: int, items: tuple[str, ...]) -> None:
    """Add files or URLs to an agent's knowledge, ingesting each now with a progress bar."""
    from jasping.cli import _migrate_quietly
    from jasping.db import session_scope
    from jasping.errors import DomainError
    from jasping.knowledge import service
    from jasping.knowledge.ingestion import ingest
    from jasping.knowledge.models import Source
    from jasping.knowledge.schemas import UrlSourceCreate
    from jasping.security.audit import Actor

    _migrate_quietly()
    org_id = _org_of_agent(agent_id)
    actor = Actor("cli", None)
    failed = 0
    for item in items:
        try:
            with session_scope(org_id) as s:
                if item.startswith(("http://", "https://")):
                    source_in = UrlSourceCreate(
                        type="url", url=item, crawl=crawl, max_pages=max_pages, max_depth=max_depth
                    )
                    source = service.add_from_json(
                        s, agent_id=agent_id, source_in=source_in, actor=actor, enqueue=False
                    )
                else:
                    path = Path(item)
                    if not path.is_file():
                        raise ValueError("not a file or an http(s) URL")
                    source = service.add_file(
                        s,
                        agent_id=agent_id,
                        filename=path.name,
                        data=path.read_bytes(),
                        content_type=mimetypes.guess_type(path.name)[0],
                        actor=actor,
                        enqueue=False,
                    )
                source_id = source.id
        except (DomainError, ValueError) as exc:
            click.secho(f"{item}: {getattr(exc, 'message', exc)}", fg="red", err=True)
            failed += 1
            continue
        with click.progressbar(length=100, label=item[:40].ljust(40), show_percent=True, file=sys.stderr) as bar:
            shown = [0]

            def echo(percent: int, note: str, bar=bar, shown=shown) -> None:
                bar.update(max(0, percent - shown[0]))
                shown[0] = max(shown[0], percent)

            state = ingest(org_id, source_id, echo=echo)
        with session_scope(org_id, write=False) as s:
            source = s.get(Source, source_id)
            if state == "ready":
                click.echo(
                    f"{item}: ready — {source.chunk_count} passages from {source.document_count} documents "
                    f"({source_id})"
                )
            else:
                failed += 1
                click.secho(f"{item}: failed — {source.error_message}", fg="red", err=True)
    sys.exit(1 if failed else 0)


@kb.command("eval")
@click.option("--corpus", type=click.Path(exists=True, dir_okay=False), required=True)
@click.option("--queries", type=click.Path(exists=True, dir_okay=False), required=True)
@click.option("--split", type=click.Choice(["dev", "test", "all"]), default="all", show_default=True)
@click.option("--lang", default=None, help="the corpus language (detected when omitted)")
@click.option("--json", "as_json", is_flag=True)
def kb_eval(corpus: str, queries: str, split: str, lang: str | None, as_json: bool) -> None:
    """Retrieval quality on a benchmark: MRR@10, hit@1 and hit@5."""
    from jasping.knowledge import evaluation
    from jasping.knowledge.lexical import LexicalIndex

    docs = evaluation.load_corpus(corpus)
    index = LexicalIndex.build((d["id"], d["text"], lang) for d in docs)
    result = evaluation.evaluate(
        lambda q: [h.chunk_id for h in index.search(q, k=10, lang=lang)], evaluation.load_queries(queries), split
    )
    if as_json:
        click.echo(json.dumps({"split": split, "documents": len(docs), **result}))
        return
    click.echo(f"{len(docs)} documents, {result['queries']} queries ({split} split)")
    click.echo(f"MRR@10 {result['mrr@10']:.3f}   hit@1 {result['hit@1']:.3f}   hit@5 {result['hit@5']:.3f}")
