"""One gallery shard as a small HTTP service (FastAPI + uvicorn, already dependencies).

Why HTTP and not a custom protocol: the router needs request/response with timeouts, clear
errors when a shard is down, and shards on other hosts; FastAPI/uvicorn on the shard and httpx on
the router give all that with libraries the project already runs, and the traffic is easy to
inspect, proxy and secure (TLS, mTLS at a proxy) like any other service. Payloads are compact
binary: an ``.npz`` (numpy's zip of arrays, no pickles) holding the encoded templates
(:func:`~ektp.abis.gallery.store.encode_templates`, the same bytes the store writes) and stage-1
codes; the router builds templates and codes once per probe, shards never re-template. Answers
are JSON (floats round-trip exactly).

Endpoints: ``GET /info`` (count, code size, encoder, calibration digest), ``POST /insert``
(npz: ``refs``, ``bodies`` + ``body_offsets``, ``codes``), ``DELETE /records/{reference_id}``,
``POST /scan`` (npz: ``body``, ``code``, optional ``subset``; query ``candidates``) → local
hits, ``POST /verify/{reference_id}`` (npz: ``body``). Domain errors come back as
``{"error", "message", "problems"}`` with their HTTP status. Requests are served one at a time
(one lock): the gallery is single-writer and a search is CPU-bound anyway.

Run: ``ektp abis gallery-serve --gallery DIR --calibration FILE --port 8101`` or
``python -m ektp.abis.gallery.shard_server ...`` (same options).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import io
import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from ektp.abis.fusion import Calibration, calibration_to_dict, load_calibration
from ektp.abis.gallery.persistent import PersistentGallery, Stage1Encoder, default_encoder
from ektp.abis.gallery.store import decode_templates
from ektp.kit.errors import DomainError, invalid

__all__ = ["calibration_digest", "create_shard_app", "load_encoder", "main", "pack_npz", "unpack_npz"]

MAX_BODY = 256 << 20


def calibration_digest(calibration: Calibration | None) -> str | None:
    """SHA-256 of the calibration's canonical JSON: router and shards must fuse alike."""
    if calibration is None:
        return None
    doc = json.dumps(calibration_to_dict(calibration), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(doc.encode()).hexdigest()


def pack_npz(arrays: Mapping[str, npt.ArrayLike]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in arrays.items()})  # type: ignore[arg-type]
    return buf.getvalue()


def unpack_npz(data: bytes, required: tuple[str, ...]) -> dict[str, npt.NDArray[Any]]:
    """Arrays of an npz payload (no pickles); a clear error for anything else."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError) as exc:
        raise invalid("body", "npz", f"request body is not an .npz of arrays ({exc})") from None
    missing = [k for k in required if k not in arrays]
    if missing:
        raise invalid("body", "required", f"payload lacks {missing}")
    return arrays


def load_encoder(spec: str | None) -> Stage1Encoder:
    """``module:attribute`` naming an encoder class or instance; ``None`` = the project's."""
    if not spec:
        return default_encoder()
    module, _, attr = spec.partition(":")
    try:
        obj = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise invalid("--encoder", "importable", f"cannot import encoder {spec!r}: {exc}") from None
    return obj() if isinstance(obj, type) else obj


def create_shard_app(gallery: PersistentGallery, *, name: str = "shard") -> FastAPI:
    """The shard service over an open gallery (it must carry the calibration)."""
    app = FastAPI(title=f"ektp ABIS {name}", docs_url=None, redoc_url=None)
    lock = threading.Lock()
    digest = calibration_digest(gallery.calibration)

    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(exc.as_dict(), status_code=exc.status_code)

    async def body(request: Request) -> bytes:
        data = await request.body()
        if len(data) > MAX_BODY:
            raise invalid("body", "max_bytes", f"request body of {len(data)} bytes exceeds {MAX_BODY}")
        return data

    @app.get("/info")
    def info() -> dict[str, Any]:
        with lock:
            return {
                "name": name,
                "count": gallery.count(),
                "code_bytes": gallery.code_bytes,
                "encoder": gallery.manifest.encoder,
                "calibration": digest,
            }

    @app.post("/insert")
    async def insert(request: Request) -> dict[str, int]:
        arrays = unpack_npz(await body(request), ("refs", "bodies", "body_offsets", "codes"))
        refs = [str(r) for r in arrays["refs"].tolist()]
        blob = arrays["bodies"].astype(np.uint8).tobytes()
        offs = arrays["body_offsets"].astype(np.int64)
        codes = arrays["codes"].astype(np.uint8)
        if offs.shape != (len(refs) + 1,) or codes.shape[0] != len(refs):
            raise invalid("body", "shape", "refs, body_offsets and codes disagree in length")
        items = [(refs[i], blob[offs[i] : offs[i + 1]], codes[i]) for i in range(len(refs))]
        with lock:
            gallery.insert_encoded_many(items)
            return {"inserted": len(items), "count": gallery.count()}

    @app.delete("/records/{reference_id:path}")
    def delete(reference_id: str) -> dict[str, int]:
        with lock:
            gallery.delete(reference_id)
            return {"count": gallery.count()}

    @app.post("/scan")
    async def scan(request: Request, candidates: int | None = None) -> dict[str, Any]:
        arrays = unpack_npz(await body(request), ("body", "code"))
        probe = decode_templates(arrays["body"].astype(np.uint8).tobytes(), field_name="probe")
        subset = [str(s) for s in arrays["subset"].tolist()] if "subset" in arrays else None
        with lock:
            hits, held = gallery.scan(
                probe, arrays["code"].astype(np.uint8), subset=subset, candidates=candidates
            )
        return {"hits": [h.to_dict() for h in hits], "held": held}

    @app.post("/verify/{reference_id:path}")
    async def verify(reference_id: str, request: Request) -> dict[str, Any]:
        arrays = unpack_npz(await body(request), ("body",))
        probe = decode_templates(arrays["body"].astype(np.uint8).tobytes(), field_name="probe")
        with lock:
            result = gallery.verify(reference_id, probe)
        return {
            "score": result.score,
            "finger_scores": {str(int(k)): v for k, v in result.finger_scores.items()},
            "iris_scores": {str(int(k)): v for k, v in result.iris_scores.items()},
            "face_score": result.face_score,
            "llr": result.llr,
        }

    @app.get("/health")
    def health() -> Response:
        return Response("ok", media_type="text/plain")

    return app


def serve(
    gallery_dir: Path,
    *,
    calibration: Path,
    host: str = "127.0.0.1",
    port: int = 8101,
    encoder: str | None = None,
    candidates: int | None = None,
) -> None:
    """Open the gallery (created if missing) and serve it until interrupted."""
    import uvicorn

    from ektp.abis.gallery.persistent import DEFAULT_CANDIDATES

    gallery = PersistentGallery.open(
        gallery_dir,
        encoder=load_encoder(encoder),
        calibration=load_calibration(calibration),
        candidates=candidates or DEFAULT_CANDIDATES,
    )
    try:
        uvicorn.run(
            create_shard_app(gallery, name=str(gallery_dir)), host=host, port=port, log_level="warning"
        )
    finally:
        gallery.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve one ABIS gallery shard over HTTP.")
    parser.add_argument("--gallery", type=Path, required=True)
    parser.add_argument("--calibration", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8101)
    parser.add_argument("--encoder", default=None, help="module:attr of the stage-1 encoder")
    parser.add_argument("--candidates", type=int, default=None)
    args = parser.parse_args(argv)
    serve(
        args.gallery,
        calibration=args.calibration,
        host=args.host,
        port=args.port,
        encoder=args.encoder,
        candidates=args.candidates,
    )


if __name__ == "__main__":
    main()
