// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// A counter in storage slot 0.
contract Counter {
    uint256 public count;

    function increment() external {
        count += 1;
    }

    /// Burns gas forever (for out-of-gas tests).
    function spin() external {
        while (true) {
            count += 1;
        }
    }
}
