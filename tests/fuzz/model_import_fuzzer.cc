// SPDX-License-Identifier: Apache-2.0
// Model import (src/policy/model.h): the whole input is a model file, as `flowwall model
// import` sends it and as model.json is read at start.
//
// Promises checked (model.h): the reader never throws and its errors are one line naming
// the origin; whatever it accepts can be written (both writers) and read back to the same
// model; merging is idempotent (importing the same file twice changes nothing).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "src/policy/model.h"
#include "tests/fuzz/fuzz_check.h"

namespace flowwall::fuzz {
namespace {

using policy::Model;

const std::string kOrigin = "model.json";

Model read_back(const std::string& text, std::string_view writer) {
    auto again = Model::from_json(text, "written model");
    FUZZ_CHECK(again.ok(), std::string(writer) + " wrote what the reader refuses: " +
                               (again.ok() ? "" : again.error().message) + "\n" + text);
    return std::move(again).value();
}

void check_accepted(const Model& model) {
    const std::string text = model.to_json_text();
    FUZZ_CHECK(read_back(text, "to_json_text") == model, text);
    const std::string dumped = model.to_json().dump();
    FUZZ_CHECK(read_back(dumped, "to_json") == model, dumped);

    Model merged = model;
    FUZZ_CHECK(merged.merge(read_back(text, "to_json_text")) == 0, "merging itself added flows");
    FUZZ_CHECK(merged == model, "merging a model into itself changed it");

    Model imported;
    FUZZ_CHECK(imported.merge(model) == model.size(), "merging into empty lost flows");
    const auto size = imported.size();
    FUZZ_CHECK(imported.merge(model) == 0 && imported.size() == size,
               "importing twice changed the model");
    for (const auto& record : imported.flows())
        FUZZ_CHECK(imported.contains(record.key), "a listed flow is not found");
}

} // namespace
} // namespace flowwall::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace flowwall::fuzz;
    const std::string_view text = as_text(data, size);
    auto model = flowwall::policy::Model::from_json(text, kOrigin);
    if (!model) {
        const auto& message = model.error().message;
        FUZZ_CHECK(message.starts_with(kOrigin), message);
        FUZZ_CHECK(is_one_line(message), message);
        return 0;
    }
    check_accepted(model.value());
    return 0;
}
