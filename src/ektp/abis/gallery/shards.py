"""A gallery split across shard processes (:mod:`.shard_server`), on one machine or many.

Shard key: ``crc32(UTF-8 reference id) mod S`` — stable across processes and Python versions
(unlike ``hash``). Inserts and deletes go to the owning shard; identify sends the probe's
templates and stage-1 code once to every shard in parallel, each returns its local stage-1
top-K₁ with stage-2 scores, and :func:`~ektp.abis.gallery.persistent.merge_hits` gives exactly
the answer one :class:`~ektp.abis.gallery.persistent.PersistentGallery` holding all the data would
(see that module). Changing S moves ids between shards; re-sharding is an offline copy, not done
here.

Transport: httpx (timeouts per request; a shard that is down or slow raises
:class:`ShardUnavailable` naming it; a domain error on the shard is raised here as the same
error class with the shard's message).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
import numpy as np
import numpy.typing as npt

from ektp.abis.decision import Thresholds, decide
from ektp.abis.engine import PreparedProbe, VerifyResult, prepare_probe
from ektp.abis.fusion import Calibration
from ektp.abis.gallery.persistent import DEFAULT_CANDIDATES, Hit, Stage1Encoder, merge_hits
from ektp.abis.gallery.shard_server import calibration_digest, pack_npz
from ektp.abis.gallery.store import check_reference_id, encode_templates
from ektp.abis.types import BiometricSample, EyePosition, FingerPosition
from ektp.kit.errors import Conflict, DomainError, FieldProblem, NotFound, ValidationFailed, invalid

__all__ = ["ShardError", "ShardUnavailable", "ShardedGallery", "shard_of"]


class ShardUnavailable(DomainError):
    code = "shard_unavailable"
    status_code = 503


class ShardError(DomainError):
    """A shard answered with an unexpected error (not a domain error)."""

    code = "shard_error"
    status_code = 502


_ERRORS: dict[str, type[DomainError]] = {
    "validation_failed": ValidationFailed,
    "not_found": NotFound,
    "conflict": Conflict,
}


def shard_of(reference_id: str, shards: int) -> int:
    """The shard owning ``reference_id`` among ``shards``."""
    return zlib.crc32(check_reference_id(reference_id)) % shards


class ShardedGallery:
    """Router over shard URLs (``http://host:port``). ``encoder`` makes stage-1 codes here;
    ``calibration`` (optional) is checked against every shard's at :meth:`check`."""

    _pool: ClassVar[int] = 16

    def __init__(
        self,
        urls: Sequence[str],
        *,
        encoder: Stage1Encoder,
        calibration: Calibration | None = None,
        candidates: int = DEFAULT_CANDIDATES,
        timeout: float = 30.0,
        connect_timeout: float = 3.0,
    ) -> None:
        if not urls:
            raise invalid("urls", "required", "give at least one shard URL")
        self.urls = [u.rstrip("/") for u in urls]
        self.encoder = encoder
        self.calibration = calibration
        self.candidates = candidates
        self._client = httpx.Client(timeout=httpx.Timeout(timeout, connect=connect_timeout))
        self._executor = ThreadPoolExecutor(max_workers=min(self._pool, len(self.urls)))

    def close(self) -> None:
        self._executor.shutdown(wait=False)
        self._client.close()

    def __enter__(self) -> ShardedGallery:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------------

    def _call(self, shard: int, method: str, path: str, **kwargs: Any) -> Any:
        url = self.urls[shard] + path
        try:
            resp = self._client.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            raise ShardUnavailable(f"shard {shard} ({self.urls[shard]}) timed out on {path}: {exc}") from None
        except httpx.TransportError as exc:
            raise ShardUnavailable(f"shard {shard} ({self.urls[shard]}) is unreachable: {exc}") from None
        if resp.status_code >= 400:
            try:
                doc = resp.json()
            except ValueError:
                doc = {}
            cls = _ERRORS.get(str(doc.get("error")))
            if cls is not None:
                problems = [FieldProblem(**p) for p in doc.get("problems", [])]
                raise cls(f"shard {shard}: {doc.get('message')}", problems)
            raise ShardError(
                f"shard {shard} ({self.urls[shard]}) answered {resp.status_code} on {path}: {resp.text[:200]}"
            )
        return resp.json()

    def _all(self, method: str, path: str, **kwargs: Any) -> list[Any]:
        futures = [
            self._executor.submit(self._call, s, method, path, **kwargs) for s in range(len(self.urls))
        ]
        return [f.result() for f in futures]

    # -- operations --------------------------------------------------------------------------

    def check(self) -> list[dict[str, Any]]:
        """Every shard's /info; refuses shards with another code size, encoder or calibration."""
        infos = self._all("GET", "/info")
        want = calibration_digest(self.calibration)
        for s, info in enumerate(infos):
            if info["code_bytes"] != self.encoder.code_bytes or info["encoder"] != self.encoder.name:
                raise invalid(
                    "encoder",
                    "mismatch",
                    f"shard {s} stores {info['encoder']} ({info['code_bytes']} B) codes",
                )
            if want is not None and info["calibration"] != want:
                raise invalid("calibration", "mismatch", f"shard {s} fuses with another calibration")
        return infos

    def count(self) -> int:
        return sum(int(i["count"]) for i in self._all("GET", "/info"))

    def insert(self, reference_id: str, sample: BiometricSample) -> None:
        self.insert_many([(reference_id, sample)])

    def insert_many(self, items: Sequence[tuple[str, BiometricSample]]) -> None:
        """Each item to its shard (one request per shard, in parallel). Atomic per shard only: if
        one shard refuses, the other shards' inserts stand (the error says which)."""
        groups: dict[int, list[tuple[str, bytes, npt.NDArray[np.uint8]]]] = {}
        for i, (ref, sample) in enumerate(items):
            body = encode_templates(prepare_probe(sample, field_name=f"items[{i}].sample"))
            code = np.asarray(self.encoder.encode(sample), dtype=np.uint8).reshape(-1)
            groups.setdefault(shard_of(ref, len(self.urls)), []).append((ref, body, code))

        def send(shard: int) -> Any:
            group = groups[shard]
            offsets = np.cumsum([0] + [len(b) for _, b, _ in group]).astype(np.int64)
            payload = pack_npz(
                {
                    "refs": np.array([r for r, _, _ in group], dtype=np.str_),
                    "bodies": np.frombuffer(b"".join(b for _, b, _ in group), dtype=np.uint8),
                    "body_offsets": offsets,
                    "codes": np.stack([c for _, _, c in group]),
                }
            )
            return self._call(shard, "POST", "/insert", content=payload)

        for f in [self._executor.submit(send, s) for s in groups]:
            f.result()

    def delete(self, reference_id: str) -> None:
        shard = shard_of(reference_id, len(self.urls))
        self._call(shard, "DELETE", f"/records/{quote(reference_id, safe='')}")

    def identify(
        self,
        sample: BiometricSample,
        *,
        subset: Sequence[str] | None = None,
        top_k: int = 10,
        candidates: int | None = None,
    ) -> list[Hit]:
        """Fan out to every shard, merge their local top-K₁ (see the module docstring)."""
        k1 = candidates if candidates is not None else self.candidates
        probe = prepare_probe(sample)
        code = np.asarray(self.encoder.encode(sample), dtype=np.uint8).reshape(-1)
        arrays: dict[str, npt.ArrayLike] = {
            "body": np.frombuffer(encode_templates(probe), dtype=np.uint8),
            "code": code,
        }
        if subset is not None:
            if isinstance(subset, str):
                raise invalid("subset", "type", "subset must be a sequence of reference ids, not a string")
            arrays["subset"] = np.array(list(subset), dtype=np.str_)
        payload = pack_npz(arrays)
        answers = self._all("POST", "/scan", content=payload, params={"candidates": k1})
        if subset is not None:
            held = sum(int(a["held"]) for a in answers)
            if held < len(set(subset)):
                raise NotFound(
                    f"subset names {len(set(subset)) - held} reference ids that no shard holds",
                    [FieldProblem("subset", "unknown", "some reference ids are not enrolled")],
                )
        return merge_hits(
            [[Hit.from_dict(h) for h in a["hits"]] for a in answers], candidates=k1, top_k=top_k
        )

    def verify(
        self,
        reference_id: str,
        sample: BiometricSample | PreparedProbe,
        *,
        thresholds: Thresholds | None = None,
    ) -> VerifyResult:
        shard = shard_of(reference_id, len(self.urls))
        payload = pack_npz({"body": np.frombuffer(encode_templates(prepare_probe(sample)), dtype=np.uint8)})
        doc = self._call(shard, "POST", f"/verify/{quote(reference_id, safe='')}", content=payload)
        score = float(doc["score"])
        return VerifyResult(
            score=score,
            finger_scores={FingerPosition(int(k)): float(v) for k, v in doc["finger_scores"].items()},
            iris_scores={EyePosition(int(k)): float(v) for k, v in doc["iris_scores"].items()},
            face_score=None if doc["face_score"] is None else float(doc["face_score"]),
            llr={str(k): float(v) for k, v in doc["llr"].items()},
            decision=None if thresholds is None else decide(score, thresholds),
        )
