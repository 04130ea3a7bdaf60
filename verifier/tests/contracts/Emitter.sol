// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// Emits events with 0..3 indexed topics.
contract Emitter {
    event Zero();
    event Two(uint256 indexed a, bytes data);

    function emitBoth(uint256 a, bytes calldata data) external {
        emit Zero();
        emit Two(a, data);
    }
}
