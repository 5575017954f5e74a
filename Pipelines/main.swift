import PipelineCLI

PipelineMain.run(catalog: catalog)
