// SPDX-License-Identifier: Apache-2.0
#include "src/datapath/mapped_array.h"

#include <sys/mman.h>

#include <cerrno>
#include <string>
#include <utility>

namespace flowwall::datapath {

Result<MappedArray> MappedArray::map(int fd, std::size_t bytes, const char* what) {
    void* address = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (address == MAP_FAILED)
        return Error::from_errno(errno, std::string("map ") + what +
                                            " into memory (an array map needs BPF_F_MMAPABLE)");
    return MappedArray(address, bytes);
}

MappedArray::MappedArray(MappedArray&& other) noexcept
    : address_(std::exchange(other.address_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

MappedArray& MappedArray::operator=(MappedArray&& other) noexcept {
    if (this != &other) {
        reset();
        address_ = std::exchange(other.address_, nullptr);
        bytes_ = std::exchange(other.bytes_, 0);
    }
    return *this;
}

MappedArray::~MappedArray() {
    reset();
}

void MappedArray::reset() {
    if (address_ != nullptr)
        munmap(address_, bytes_);
    address_ = nullptr;
    bytes_ = 0;
}

} // namespace flowwall::datapath
