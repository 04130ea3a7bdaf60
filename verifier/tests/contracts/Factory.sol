// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import "./Counter.sol";

/// Deploys Counters with CREATE2, and a Bomb that self-destructs in the same transaction.
contract Factory {
    event Deployed(address indexed addr, bytes32 salt);

    function deploy(bytes32 salt) external returns (address) {
        Counter c = new Counter{salt: salt}();
        emit Deployed(address(c), salt);
        return address(c);
    }

    /// Creates a Bomb and blows it up in the same transaction (EIP-6780: it is deleted).
    function createAndDestroy() external payable returns (address) {
        Bomb b = new Bomb{value: msg.value}();
        b.boom(payable(msg.sender));
        return address(b);
    }
}

/// Sends its balance away and self-destructs.
contract Bomb {
    constructor() payable {}

    function boom(address payable to) external {
        selfdestruct(to);
    }
}
