// SPDX-License-Identifier: Apache-2.0
// The model on disk: <state_dir>/model.json in the export format (model.h), written
// atomically with the previous version kept as model.json.prev. A model that does not
// parse is never overwritten and never silently replaced by an empty one: the loader falls
// back to the previous version, or fails with what to do.
#pragma once

#include <filesystem>
#include <string_view>

#include "src/policy/model.h"

namespace flowwall::policy {

class ModelStore {
public:
    static constexpr std::string_view kFileName = "model.json";
    // 100k flows take about 25 MB; a file 40 times that is not a model we wrote.
    static constexpr size_t kMaxFileBytes = size_t{1} << 30;

    // Creates the state directory if needed.
    static Result<ModelStore> open(const std::filesystem::path& state_dir);

    // - model.json parses: that model.
    // - model.json and model.json.prev both missing: an empty model (first start).
    // - model.json missing (an interrupted save on a filesystem without hard links) or not
    //   parsing: model.json.prev, with a warning naming the file and why; a model.json that
    //   does not parse is first moved aside to model.json.corrupt-<UTC time> so that no
    //   later save can turn it into the .prev copy.
    // - neither usable: an error naming both files and why, and how to recover.
    // - model.json unreadable (permissions, a directory...): an error, no fallback: the
    //   file may well be good.
    // Temporary files left by a save that crashed before its rename are removed.
    Result<Model> load();

    // Atomic: temp file, fsync, rename, directory fsync; the replaced file becomes
    // model.json.prev. Mode 0600: the model tells which connections get through.
    Status save(const Model& model);
    // Same, for text from Model::to_json_text(): lets a caller serialize under its lock and
    // write outside it.
    Status save_text(std::string_view text);

    const std::filesystem::path& file() const { return file_; }
    std::filesystem::path previous_file() const;

private:
    explicit ModelStore(std::filesystem::path file) : file_(std::move(file)) {}

    void remove_interrupted_saves();

    std::filesystem::path file_;
};

} // namespace flowwall::policy
