"""Faces in large phone photos: the two-pass detector against one pass at 640 px, one run.

A seller's phone photo is 12 MP (4032x3024); a person in it is often 50-150 px tall. The
detector used to search one copy scaled to 640 px, where such a face is 8-25 px and is
missed, so the "blurred" photo kept it. Now a second pass at about 3 MP finds it.

For each photo of ``../shared/photos/people`` (faces labelled by the detector itself at the
photo's full resolution, its best possible answer), the photo is pasted, at its own size,
into a grey canvas of each size in ``--sizes`` (a person in a larger room). Each detector
(``one pass``: the 640 px pass alone, the old behaviour; ``two passes``: the default) is
scored by the reference faces it finds (IoU >= 0.3) and timed per photo (one thread).

Run from the repository root, with ``pip install -e ".[photos]"``::

    ESTIMO_SHARED_PHOTOS=../shared/photos nice python benchmarks/photo_faces_large.py
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import cv2
from PIL import Image

from estimo.photos.faces import Face, FaceDetector


def _iou(a: Face, b: Face) -> float:
    x0, y0 = max(a.x0, b.x0), max(a.y0, b.y0)
    x1, y1 = min(a.x1, b.x1), min(a.y1, b.y1)
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    union = a.area + b.area - inter
    return inter / union if union else 0.0


def _pasted(photo: Image.Image, width: int) -> tuple[Image.Image, tuple[int, int]]:
    """``photo`` at its own size in the middle of a grey 4:3 canvas ``width`` wide."""
    height = width * 3 // 4
    canvas = Image.new("RGB", (width, height), (128, 128, 128))
    at = ((width - photo.width) // 2, (height - photo.height) // 2)
    canvas.paste(photo, at)
    return canvas, at


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048, 3024, 4032])
    parser.add_argument("--repeat", type=int, default=2, help="timings per photo (median)")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    folder = Path(os.environ.get("ESTIMO_SHARED_PHOTOS", "../shared/photos")) / "people"
    photos = {p.name: Image.open(p).convert("RGB") for p in sorted(folder.glob("*.jpg"))}
    full = FaceDetector(max_side=100_000, fine_pixels=0)  # the photo at its own size
    detectors = {
        "one pass (640 px)": FaceDetector(fine_pixels=0),
        "two passes": FaceDetector(),
    }
    load = os.getloadavg()
    print(f"photos: {', '.join(photos)} from {folder}; canvas widths {args.sizes}")
    totals = {name: [0, 0, 0.0, 0] for name in detectors}  # found, reference, seconds, photos
    for width in args.sizes:
        for name, photo in photos.items():
            if photo.width > width:
                continue
            canvas, (dx, dy) = _pasted(photo, width)
            reference = [
                Face(f.x0 + dx, f.y0 + dy, f.x1 + dx, f.y1 + dy, f.score)
                for f in full.detect(photo)
            ]
            cells = []
            for label, detector in detectors.items():
                seconds = []
                for _ in range(args.repeat):
                    start = time.process_time()
                    found = detector.detect(canvas)
                    seconds.append(time.process_time() - start)
                hit = sum(any(_iou(r, f) >= 0.3 for f in found) for r in reference)
                t = sorted(seconds)[len(seconds) // 2]
                total = totals[label]
                total[0] += hit
                total[1] += len(reference)
                total[2] += t
                total[3] += 1
                cells.append(f"{label}: {hit}/{len(reference)} in {t:.2f} s")
            print(f"{name:<14} in {width}x{width * 3 // 4}: " + "; ".join(cells))
    print("overall")
    for label, (hit, ref, seconds, n) in totals.items():
        print(f"  {label:<18} faces found {hit}/{ref}, CPU s per photo {seconds / n:.2f}")
    after = os.getloadavg()
    print(
        f"load average (1 min): before {load[0]:.1f}, after {after[0]:.1f}; {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
