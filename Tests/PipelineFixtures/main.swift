import Sluice
import PipelineCLI

/// `PipelineFixtures`: the `pipeline` command line over pipelines that exist only for the
/// engine's process tests (never shipped in the `pipeline` executable).
PipelineMain.run(catalog: PipelineCatalog([PoisonTrap()]))
