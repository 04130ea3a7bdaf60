// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// Always reverts with a reason string; accepts value only through `fail`.
contract Reverter {
    uint256 public touched;

    function fail() external payable {
        touched = 1;
        revert("nope: reverted on purpose");
    }
}
