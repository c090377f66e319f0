"""The model router: routing, lazy loads, LRU under a measured budget, fallback, swaps."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from estimo.errors import EstimoError
from estimo.registry.store import Registry
from estimo.serve.catalog import GLOBAL, BundleRef, FolderCatalog, RegistryCatalog, city_key
from estimo.serve.model_router import ModelRouter, NoModelError
from estimo.serve.valuer import load_valuer

PROPERTY = {"city": "Roma", "area_m2": 70.0, "date": "2024-01-15"}


class FakeValuer:
    """A valuer of known size whose answer names its bundle."""

    def __init__(self, name: str, size: int) -> None:
        self.name, self.size = name, size

    @property
    def cities(self) -> tuple[str, ...]:
        return (self.name.split("@")[0],)

    def memory_bytes(self) -> int:
        return self.size

    def value_one(self, record, *, explain=True, lang="en") -> dict:
        return {"price": 1.0, "bundle": self.name}

    def value_many(self, records, *, explain=True, lang="en") -> list:
        return [self.value_one(r) for r in records]


class FakeCatalog:
    """Bundles of 10 MB each (``sizes`` overrides), some broken, versions changeable."""

    source = "fake"

    def __init__(self, cities: list[str], broken: tuple[str, ...] = (), size: int = 10**7):
        self.version = "v1"
        self.cities, self.broken, self.size = cities, broken, size
        self.loads: list[str] = []

    def refresh(self) -> dict[str, BundleRef]:
        refs = {GLOBAL: BundleRef(GLOBAL, None, self.version, "g")}
        for city in self.cities:
            refs[city_key(city)] = BundleRef(city_key(city), city, self.version, city)
        return refs

    def load(self, ref: BundleRef) -> FakeValuer:
        self.loads.append(f"{ref.key}@{ref.version}")
        if ref.key in self.broken:
            raise EstimoError(f"bundle {ref.key} is damaged at /secret/path")
        return FakeValuer(f"{ref.key}@{ref.version}", self.size)


def test_routes_city_to_its_bundle_and_others_to_global() -> None:
    router = ModelRouter(FakeCatalog(["Milano", "Kraków"]), budget_bytes=10**9)
    router.start()
    assert router.resolve("milano").ref.key == "milano"
    assert router.resolve("KRAKOW").ref.key == "krakow"
    assert router.resolve("Napoli").ref.key == GLOBAL
    assert router.resolve("Napoli").warnings == ()


def test_loads_lazily_and_once() -> None:
    catalog = FakeCatalog(["Milano"])
    router = ModelRouter(catalog, budget_bytes=10**9, hot_cities=["global"])
    router.start()
    assert catalog.loads == ["global@v1"] * 2  # the throw-away warm-up load, the hot city
    for _ in range(3):
        router.resolve("Milano")
    assert catalog.loads == ["global@v1"] * 2 + ["milano@v1"]


def test_lru_keeps_memory_under_the_budget() -> None:
    cities = [f"c{i}" for i in range(10)]
    catalog = FakeCatalog(cities, size=10**7)
    router = ModelRouter(catalog, budget_bytes=35 * 10**6)
    router.start()
    for city in cities:
        router.resolve(city)
        assert router.memory_bytes() <= 35 * 10**6
    router.resolve("c7")  # recently used: stays
    router.resolve("c0")  # evicts the least recently used (c8)
    assert [b.ref.key for b in router.loaded()] == ["c9", "c7", "c0"]
    assert len(catalog.loads) == 11


def test_memory_is_measured_at_least_the_bundle_size() -> None:
    router = ModelRouter(FakeCatalog(["a"], size=12_345_678), budget_bytes=10**9)
    router.start()
    router.resolve("a")
    (bundle,) = router.loaded()
    assert bundle.memory >= 12_345_678
    assert bundle.memory == max(bundle.rss_delta, 12_345_678)


def test_broken_city_bundle_falls_back_to_global_with_a_warning(caplog) -> None:
    router = ModelRouter(FakeCatalog(["Milano", "Torino"], broken=("torino",)), 10**9)
    router.start()
    route = router.resolve("Torino")
    assert route.ref.key == GLOBAL
    assert route.model["fallback"] is True
    assert "Torino could not be loaded" in route.warnings[0]
    assert any("cannot be loaded" in r.getMessage() for r in caplog.records)
    states = {b["bundle"]: b for b in router.snapshot()["bundles"]}
    assert states["torino"]["state"] == "broken"
    assert "/secret" not in states["torino"]["error"]
    router.resolve("Torino")  # remembered: not retried on every request
    assert router.catalog.loads.count("torino@v1") == 1


def test_no_global_model_is_a_clear_error() -> None:
    router = ModelRouter(FakeCatalog(["Milano"], broken=("global",)), 10**9)
    router.start()
    with pytest.raises(NoModelError, match="global model cannot be loaded"):
        router.resolve("Napoli")


def test_new_version_is_loaded_before_the_switch() -> None:
    catalog = FakeCatalog(["Milano"])
    router = ModelRouter(catalog, budget_bytes=10**9)
    router.start()
    router.resolve("Milano")
    catalog.version = "v2"
    assert sorted(router.refresh()) == ["global", "milano"]
    assert "milano@v2" in catalog.loads  # warmed during refresh: it was loaded before
    assert "global@v2" not in catalog.loads  # never loaded before: stays lazy
    assert router.resolve("Milano").valuer.value_one({})["bundle"] == "milano@v2"
    assert [b.ref.version for b in router.loaded()] == ["v2"]


@pytest.fixture()
def registry(bundles: Path, tmp_path: Path) -> Registry:
    registry = Registry(str(tmp_path / "registry"))
    registry.add_folder(str(bundles / "_global"))
    registry.add_folder(str(bundles / "Roma"), tags={"city": "Roma"})
    registry.aliases.set("champion", "v1")
    registry.aliases.set("champion--roma", "v2")
    return registry


def test_registry_catalog_reads_global_and_city_aliases(registry: Registry) -> None:
    refs = RegistryCatalog(registry.url, "champion").refresh()
    assert {k: (r.city, r.version) for k, r in refs.items()} == {
        "global": (None, "v1"),
        "roma": ("Roma", "v2"),
    }


def test_registry_catalog_without_the_alias_names_the_aliases(registry: Registry) -> None:
    with pytest.raises(EstimoError, match=r"no alias 'prod'.*'champion'"):
        RegistryCatalog(registry.url, "prod").refresh()


def test_damaged_registry_bundle_falls_back(registry: Registry) -> None:
    model_file = Path(registry.version_path("v2")) / "bundle" / "model.json"
    model_file.write_text(model_file.read_text() + " ")
    router = ModelRouter(RegistryCatalog(registry.url, "champion"), 10**9)
    router.start()
    route = router.resolve("Roma")
    assert route.ref.key == GLOBAL and route.warnings
    answer = route.valuer.value_one(PROPERTY, explain=False)
    assert answer["price"] > 0


def test_folder_catalog_layouts(bundles: Path) -> None:
    parts = FolderCatalog(bundles).refresh()
    assert set(parts) == {"global", "roma"}
    whole = FolderCatalog(bundles / "_global").refresh()
    assert set(whole) == {"global"}
    with pytest.raises(EstimoError, match="no model.json and no '_global'"):
        FolderCatalog(bundles.parent).refresh()


def test_swap_under_load_fails_no_request(registry: Registry) -> None:
    """Requests in 4 threads while the champion alias moves between versions 3 times."""
    v3 = registry.add_folder(registry.bundle_url("v1")).version
    router = ModelRouter(RegistryCatalog(registry.url, "champion"), 10**9, hot_cities=["Napoli"])
    router.start()
    failures: list[BaseException] = []
    versions: set[str] = set()
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            try:
                route = router.resolve("Napoli")
                assert route.valuer.value_one(PROPERTY, explain=False)["price"] > 0
                versions.add(route.ref.version)
            except BaseException as exc:
                failures.append(exc)

    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    for target in (v3, "v1", v3):
        time.sleep(0.3)
        registry.aliases.set("champion", target)
        router.refresh()
    time.sleep(0.3)
    stop.set()
    for thread in threads:
        thread.join()
    assert failures == []
    assert versions == {"v1", v3}
    assert [b.ref.version for b in router.loaded()] == [v3]


def test_load_valuer_refuses_a_plain_model(tmp_path: Path) -> None:
    from estimo.model.bundle import save_model
    from estimo.model.valuation import ValuationModel
    from estimo.synth import generate_market

    frame = generate_market(600, seed=1, faults=False).frame
    save_model(ValuationModel(n_estimators=5).fit(frame), str(tmp_path / "plain"))
    with pytest.raises(EstimoError, match="needs an engine bundle"):
        load_valuer(str(tmp_path / "plain"))


def test_a_bundle_is_charged_what_its_loads_measured(bundles: Path) -> None:
    """Free memory goes back before each load and the libraries' one-time allocations are
    absorbed by warm(), so the charge of a bundle is its own growth, kept across reloads."""
    router = ModelRouter(FolderCatalog(bundles), budget_bytes=1)  # each load evicts the other
    router.start()
    router.warm()
    loads = []
    for city in ["Roma", "Napoli"] * 4:
        router.resolve(city)
        loads.append(router.loaded()[-1])
    roma = [b for b in loads if b.ref.key == "roma"]
    charged = [b.memory for b in roma]
    assert charged == sorted(charged)  # the largest measurement so far, kept
    memory = charged[-1]
    files = sum(p.stat().st_size for p in (bundles / "Roma").rglob("*") if p.is_file())
    assert memory == max(files, *(b.rss_delta for b in roma))
    assert files <= memory < 20 * 2**20  # not the libraries' tens of MB


def test_a_new_version_that_cannot_be_loaded_never_replaces_the_one_serving() -> None:
    """An alias moved to a damaged version: the loaded version serves on, /v1/models says
    which version was refused, and it is not retried on every poll."""
    catalog = FakeCatalog(["Milano"])
    router = ModelRouter(catalog, budget_bytes=10**9)
    router.start()
    router.resolve("Milano")
    catalog.version, catalog.broken = "v2", ("milano",)
    changed = router.refresh()
    assert "milano" not in changed
    assert router.resolve("Milano").valuer.value_one({})["bundle"] == "milano@v1"
    entry = next(b for b in router.snapshot()["bundles"] if b["bundle"] == "milano")
    assert entry["version"] == "v1" and entry["refused_versions"] == ["v2"]
    assert "/secret" not in entry["error"]
    router.refresh()
    assert catalog.loads.count("milano@v2") == 1


def test_a_city_alias_on_a_model_that_never_learned_the_city_is_not_used() -> None:
    """An alias pointed at another market's model: the global model values the city."""

    class Elsewhere(FakeCatalog):
        def load(self, ref: BundleRef) -> FakeValuer:
            valuer = super().load(ref)
            if ref.key == "madrid":
                valuer.name = "torino@" + ref.version  # a model of another city
            return valuer

    router = ModelRouter(Elsewhere(["Madrid"]), 10**9)
    router.start()
    assert router.resolve("Madrid").valuer.value_one({})["bundle"].startswith("global")
