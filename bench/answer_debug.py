"""Why did the offline model answer (or decline) a question? For questions of one business of the answer
evaluation: the retrieved passages (rank, score, language, title), the confidence, then the best-scoring
sentences with their scores and matched question words, and the reply. A tuning aid for the development half
only: do not run it on the held-out businesses (eval/README.md).

    .venv/bin/python bench/answer_debug.py dev/garage-casa [QUESTION_ID ...] [--sentences N]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from answer_eval import DATA, create_agent, fresh_data_dir, model_env, upload  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("business", help="split/slug, e.g. dev/garage-casa")
    parser.add_argument("ids", nargs="*", help="question ids (all when none)")
    parser.add_argument("--sentences", type=int, default=6)
    args = parser.parse_args()
    if not args.business.startswith("dev/"):
        raise SystemExit("only the development half may be looked at question by question")
    folder = DATA / args.business
    from jasping.agent.evaluation import contains, load_questions

    questions = [q for q in load_questions(folder / "questions.jsonl") if not args.ids or q.id in args.ids]
    business = json.loads((folder / "business.json").read_text(encoding="utf-8"))
    files = sorted(p for p in (folder / "documents").iterdir() if p.is_file())
    with model_env("local"), fresh_data_dir():
        org_id, agent_id = create_agent(business)
        upload(org_id, agent_id, files)
        from jasping.agent.llm import local
        from jasping.agent.turn import context_for
        from jasping.agents.models import Agent
        from jasping.db import session_scope

        seen: list = []
        original = local.split_passage

        def spy(*a, **kw):  # noqa: ANN002, ANN003, ANN202
            out = original(*a, **kw)
            seen.extend(out)
            return out

        local.split_passage = spy
        model = local.LocalChatModel()
        with session_scope(org_id, write=False) as s:
            agent = s.get(Agent, agent_id)
            for q in questions:
                seen.clear()
                context = context_for(s, agent, q.text)
                step = model.respond(context)
                ok = q.answerable and all(contains(step.text, f) for f in q.expected)
                print(f"\n=== {q.id} [{q.language}] {q.text}\n    expected {q.expected} from {q.document}")
                print(f"    confidence {context.confidence:.3f} semantic={context.semantic}")
                for n, p in enumerate(sorted(context.passages, key=lambda p: -p.score)[:5]):
                    print(f"    P{n} {p.score:.3f} {p.title[:50]!r}: {p.text[:90]!r}")
                for sent in sorted(seen, key=lambda x: -getattr(x, "score", 0))[: args.sentences]:
                    words = sorted(getattr(sent, "matched", ()))
                    print(f"      {getattr(sent, 'score', 0):.2f} r{sent.rank} {words} {sent.text[:110]!r}")
                print(f"    {'OK ' if ok else 'MISS'} {step.text[:200]!r}")


if __name__ == "__main__":
    main()
