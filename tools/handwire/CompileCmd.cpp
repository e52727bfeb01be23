// handwire compile: build every model of a spec and write its weights
// (safetensors) and config (JSON), or one ONNX file per model, to the output
// directory.
#include "Commands.h"
#include "Report.h"

#include "codegen/EmitLLVM.h"
#include "driver/StageDump.h"
#include "export/Onnx.h"
#include "jit/JitBackend.h"
#include "support/FileIO.h"

#include <filesystem>

#include <iostream>

namespace handwire::cli {

namespace {
struct CompileCliOptions {
  CommonOptions common;
  std::string output = "out";
  std::string emit = "weights";
  bool onnxBatch = false;        // --onnx-batch
  bool onnxExternalData = false; // --onnx-external-data
};

OnnxOptions onnxOptionsOf(const CompileCliOptions &o) {
  OnnxOptions onnx;
  onnx.batch = o.onnxBatch;
  if (o.onnxExternalData)
    onnx.externalDataAbove = 0;
  return onnx;
}

// --emit STAGE for the stages before export: the stage's result as text.
std::string stageText(Stage stage, const StageResult &r) {
  switch (stage) {
  case Stage::Parse:
    return dumpAst(*r.ast);
  case Stage::Sema:
    return dumpSpec(*r.spec);
  case Stage::Construct:
    return dumpNetwork(*r.network);
  case Stage::Certify:
    return "certificate " + r.network->name + "\n" +
           certificateJson(*r.network).dump(2) + "\n";
  case Stage::Plan:
    return dumpPlan(*r.plan);
  case Stage::EmitLLVM:
  case Stage::Optimize:
    return moduleText(*r.module);
  case Stage::Link:
    return assemblyText(*r.module);
  case Stage::Export:
    break;
  }
  return "";
}

// Runs the pipeline up to `until` (before export) and prints its result.
int printStage(const CompileCliOptions &o, Stage until) {
  const StageObserver show = [until](Stage s, const StageResult &r) {
    if (s == until)
      std::cout << stageText(s, r) << std::flush;
  };
  LoadedModels loaded;
  if (!loadModels(o.common, loaded,
                  until <= Stage::Certify ? show : StageObserver{}))
    return loadFailureCode(loaded);
  if (!loaded.fromSpec && until <= Stage::Sema) {
    std::cerr << "handwire: error: --emit " << o.emit << " needs a .task "
              << "spec; '" << o.common.input << "' is a compiled model\n";
    return 1;
  }
  if (!loaded.fromSpec && until <= Stage::Certify)
    for (const LoadedModel &m : loaded.models)
      show(until, &m.net); // a model file enters after stage 4
  if (until <= Stage::Certify)
    return 0;
  for (const LoadedModel &m : loaded.models) {
    std::cout << "; model " << m.net.name << " ("
              << m.net.provenance.construction << ", "
              << precisionName(m.net.precision) << ")\n";
    DiagnosticEngine diags;
    PipelineOptions po;
    po.observer = show;
    // A 16-bit model's code rounds its stored values (vcvt*).
    Pipeline(po, diags).native(m.net, storageFormatOf(m.net.precision));
  }
  return 0;
}

// Writes every model's files to the staging directory of `out`; the paths
// they will have after the commit go to `paths`. False (with a message) on
// an error or Ctrl-C.
bool stageModelFiles(const CompileCliOptions &o, const LoadedModels &loaded,
                     OutputSet &out,
                     std::vector<std::vector<std::string>> &paths) {
  const auto format = o.emit == "onnx" ? Pipeline::ExportFormat::Onnx
                                       : Pipeline::ExportFormat::Weights;
  DiagnosticEngine diags;
  PipelineOptions po;
  po.compile.memoryLimitBytes = parseByteSize(o.common.memoryLimit);
  po.onnx = onnxOptionsOf(o);
  Pipeline pipeline(po, diags);
  const std::string dir = o.output.empty() ? "." : o.output;
  for (const LoadedModel &m : loaded.models) {
    if (interrupted)
      return false;
    std::vector<std::string> names =
        Pipeline::exportFileNames(m.task, m.net, format, po.onnx);
    for (std::string &name : names) {
      out.add(name);
      name = (std::filesystem::path(dir) / name).string();
    }
    try {
      pipeline.exportModel(m.task, m.net, out.stagingDir(), format);
    } catch (const UserError &e) {
      // The message names the staging path; name the file asked for.
      std::string msg = e.what();
      for (size_t at; (at = msg.find(out.stagingDir())) != std::string::npos;)
        msg.replace(at, out.stagingDir().size(), dir);
      std::cerr << "handwire: error: " << msg << "\n";
      return false;
    }
    paths.push_back(std::move(names));
  }
  return !interrupted;
}

void printWritten(const CompileCliOptions &o, const LoadedModels &loaded,
                  const std::vector<std::vector<std::string>> &paths) {
  nlohmann::json out = {{"input", o.common.input},
                        {"models", nlohmann::json::array()}};
  for (size_t i = 0; i < loaded.models.size(); ++i) {
    const Network &net = loaded.models[i].net;
    const std::vector<std::string> &p = paths[i];
    if (o.common.json && o.emit == "onnx") {
      nlohmann::json m = {{"name", net.name},
                          {"onnx", p[0]},
                          {"opset", kOnnxOpset},
                          {"weight_bytes", onnxWeightBytes(net)},
                          {"certified", net.certificate.certified}};
      if (o.onnxBatch)
        m["batch"] = true;
      if (p.size() > 1)
        m["external_data"] = p[1];
      out["models"].push_back(std::move(m));
    } else if (o.common.json)
      out["models"].push_back({{"name", net.name},
                               {"config", p[1]},
                               {"weights", p[0]},
                               {"width", net.width},
                               {"parameters", parameterCount(net)},
                               {"certified", net.certificate.certified}});
    else {
      printModelLine(std::cout, net);
      if (o.emit == "onnx") {
        std::cout << "  wrote " << p[0] << " (ONNX opset " << kOnnxOpset
                  << (o.onnxBatch ? ", batch axis" : "") << ", checked)\n";
        if (p.size() > 1)
          std::cout << "  wrote " << p[1] << " (its external data)\n";
      } else
        std::cout << "  wrote " << p[0] << "\n  wrote " << p[1] << "\n";
    }
  }
  if (o.common.json)
    std::cout << out.dump(2) << "\n";
}

// Writes every model's files (weights + config, or ONNX) all-or-nothing: if
// one cannot be written, or Ctrl-C comes first, none is left behind.
int runCompile(const CompileCliOptions &o) {
  const Stage until = *stageForEmit(o.emit);
  if ((o.onnxBatch || o.onnxExternalData) && o.emit != "onnx") {
    std::cerr << "handwire: error: --onnx-batch and --onnx-external-data "
                 "need --emit onnx\n";
    return kExitError;
  }
  if (until != Stage::Export)
    return printStage(o, until);
  LoadedModels loaded;
  if (!loadModels(o.common, loaded) || interrupted) {
    if (interrupted)
      std::cerr << "handwire: interrupted; no file was written\n";
    return loadFailureCode(loaded);
  }
  std::vector<std::vector<std::string>> paths;
  try {
    OutputSet out(o.output);
    if (!stageModelFiles(o, loaded, out, paths)) {
      if (!interrupted)
        return kExitError;
      std::cerr << "handwire: interrupted; no file was written\n";
      return kExitInterrupted;
    }
    out.commit();
  } catch (const UserError &e) {
    std::cerr << "handwire: error: " << e.what() << "\n";
    return kExitError;
  }
  printWritten(o, loaded, paths);
  return kExitOk;
}
} // namespace

void setupCompile(CLI::App &app) {
  auto opts = std::make_shared<CompileCliOptions>();
  CLI::App *cmd = app.add_subcommand(
      "compile",
      "Build, verify and certify every model of a spec; write weights "
      "(.safetensors) and config (.json), or ONNX (--emit onnx)");
  addCommonOptions(*cmd, opts->common);
  cmd->add_option("-o,--output", opts->output, "output directory")
      ->capture_default_str();
  cmd->add_option(
         "--emit", opts->emit,
         "run the pipeline up to a stage and print its result: ast, spec, "
         "network, certificate, plan, llvm (IR as emitted), llvm-opt (after "
         "O3), asm (host assembly); or write files: weights (safetensors + "
         "JSON), onnx (one .onnx per model, opset 13). Code is in the "
         "model's precision (f16 / bf16: rounded with the host's "
         "conversions)")
      ->check(CLI::IsMember(emitNames()))
      ->capture_default_str();
  cmd->add_flag("--onnx-batch", opts->onnxBatch,
                "with --emit onnx: a leading batch axis, tokens [batch, "
                "length] (features [batch, length, F]) -> logits [batch, "
                "classes], decision [batch]; one length per batch");
  cmd->add_flag("--onnx-external-data", opts->onnxExternalData,
                "with --emit onnx: write the weights to TASK.MODEL.onnx.data "
                "next to the .onnx (ONNX external data; automatic when they "
                "exceed what one .onnx file holds, ~2 GiB)");
  cmd->callback([opts] {
    if (int rc = runCompile(*opts))
      throw CLI::RuntimeError(rc);
  });
}

} // namespace handwire::cli
